// Answers for `rclone-devbox setup`: typed by a person at a terminal (a secret with echo off), or
// read from stdin one value per line when stdin is not a terminal (as `docker login
// --password-stdin` reads a password), so a boot script can pipe them in from its secret store.
// Nothing read here is ever printed or logged; the questions go to stderr, stdout stays the result.
import { createInterface, type Interface } from 'node:readline';
import { Writable } from 'node:stream';
import * as l10n from '@vscode/l10n';
import { RcloneError } from '../core/errors';

export interface Answers {
  /** A person answers at a terminal; otherwise values come from stdin and nobody can be asked a question. */
  readonly terminal: boolean;
  /**
   * The next value: typed after `prompt` (not echoed when `secret`), or the next line of stdin
   * (the prompt is not shown then). Undefined when stdin has ended (Ctrl-D at a terminal).
   */
  value(prompt: string, secret: boolean): Promise<string | undefined>;
  /** A yes/no question at the terminal; no unless the answer is y or yes. */
  confirm(question: string): Promise<boolean>;
  /** Stops reading stdin (and gives the terminal back its modes). */
  close(): void;
}

const cancelled = () => new RcloneError('Cancelled', l10n.t('Setup was cancelled; nothing more was written.'));

/** Answers from this process's stdin: a terminal's when it is one. Nothing is read before the first question. */
export function answers(signal: AbortSignal): Answers {
  return process.stdin.isTTY ? new TerminalAnswers(signal) : new LineAnswers(signal);
}

class TerminalAnswers implements Answers {
  readonly terminal = true;
  private rl: Interface | undefined;
  private closed = false;
  /**
   * Whether what readline writes (the typed characters) stays off the terminal: always, but while
   * a question that is not secret waits for its answer. So a secret typed or pasted ahead (before
   * its prompt) is never echoed either; such lines wait for the questions that follow.
   */
  private muted = true;
  private readonly lines: string[] = [];
  private waiting: ((line: string | undefined) => void) | undefined;

  constructor(private readonly signal: AbortSignal) {}

  private open(): Interface {
    if (this.rl) return this.rl;
    const output = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        if (!this.muted) process.stderr.write(chunk);
        done();
      },
    });
    const rl = createInterface({ input: process.stdin, output, terminal: true, historySize: 0 });
    rl.on('line', (line) => {
      this.muted = true; // before readline goes on with the rest of a pasted chunk
      const waiting = this.waiting;
      this.waiting = undefined;
      if (waiting) waiting(line);
      else this.lines.push(line);
    });
    // In raw mode Ctrl-C is a key, not a signal: made the signal the rest of the CLI stops on.
    rl.on('SIGINT', () => {
      process.stderr.write('\n');
      process.emit('SIGINT', 'SIGINT');
    });
    rl.on('close', () => {
      this.closed = true;
      this.muted = true;
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.(undefined);
    });
    return (this.rl = rl);
  }

  value(prompt: string, secret: boolean): Promise<string | undefined> {
    if (this.signal.aborted) return Promise.reject(cancelled());
    const rl = this.open();
    const ahead = this.lines.shift();
    if (ahead !== undefined) {
      process.stderr.write(`${prompt}${secret ? '' : ahead}\n`);
      return Promise.resolve(ahead);
    }
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.waiting = undefined;
        this.muted = true;
        reject(cancelled());
      };
      this.signal.addEventListener('abort', onAbort, { once: true });
      this.waiting = (line) => {
        this.signal.removeEventListener('abort', onAbort);
        if (secret) process.stderr.write('\n'); // the Enter was not echoed either
        resolve(line);
      };
      rl.setPrompt(prompt); // what readline writes again when it redraws the line
      process.stderr.write(prompt);
      this.muted = secret;
    });
  }

  async confirm(question: string): Promise<boolean> {
    const answer = await this.value(`${question} [y/N] `, false);
    return /^\s*y(?:es)?\s*$/i.test(answer ?? '');
  }

  close(): void {
    this.rl?.close();
  }
}

class LineAnswers implements Answers {
  readonly terminal = false;
  private rl: Interface | undefined;
  private readonly lines: string[] = [];
  private ended = false;
  private waiting: ((line: string | undefined) => void) | undefined;

  constructor(private readonly signal: AbortSignal) {}

  private open(): void {
    if (this.rl) return;
    this.rl = createInterface({ input: process.stdin, terminal: false, crlfDelay: Infinity });
    this.rl.on('line', (line) => {
      const waiting = this.waiting;
      this.waiting = undefined;
      if (waiting) waiting(line);
      else this.lines.push(line);
    });
    this.rl.on('close', () => {
      this.ended = true;
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.(undefined);
    });
  }

  value(): Promise<string | undefined> {
    if (this.signal.aborted) return Promise.reject(cancelled());
    this.open();
    if (this.lines.length) return Promise.resolve(this.lines.shift());
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.waiting = undefined;
        reject(cancelled());
      };
      this.signal.addEventListener('abort', onAbort, { once: true });
      this.waiting = (line) => {
        this.signal.removeEventListener('abort', onAbort);
        resolve(line);
      };
    });
  }

  /** Nobody to ask: stdin holds values, not answers. */
  confirm(): Promise<boolean> {
    return Promise.resolve(false);
  }

  close(): void {
    this.rl?.close();
    process.stdin.destroy();
  }
}
