// Asks an app on loopback for its page, as a browser would: the body, or undefined while nothing
// answers (refused, reset, or no answer within 2 s).
import { get } from 'node:http';

export const fetchText = (url: string) =>
  new Promise<string | undefined>((done) => {
    const req = get(url, { timeout: 2_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => done(body));
    });
    req.on('error', () => done(undefined));
    req.on('timeout', () => req.destroy());
  });
