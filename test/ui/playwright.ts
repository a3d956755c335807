// The part of playwright-core's API the runner and the UI test use, typed here because
// playwright-core is loaded at run time from .cache/ (see test/runner/vscodeCache.ts) and is not
// installed when `tsc` runs on a fresh clone. Signatures follow playwright-core 1.65.

export interface Playwright {
  chromium: BrowserType;
}

export interface BrowserType {
  launch(options: {
    executablePath?: string;
    headless?: boolean;
    args?: string[];
    timeout?: number;
    env?: Record<string, string>;
    handleSIGINT?: boolean;
    handleSIGTERM?: boolean;
    handleSIGHUP?: boolean;
  }): Promise<Browser>;
}

export interface Browser {
  newContext(options?: {
    viewport?: { width: number; height: number } | null;
    deviceScaleFactor?: number;
  }): Promise<BrowserContext>;
  close(): Promise<void>;
  isConnected(): boolean;
  on(event: 'disconnected', listener: () => void): this;
}

export interface BrowserContext {
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

export interface ConsoleMessage {
  type(): string;
  text(): string;
}

export interface Page {
  goto(
    url: string,
    options?: { timeout?: number; waitUntil?: 'load' | 'domcontentloaded' | 'networkidle' | 'commit' },
  ): Promise<unknown>;
  title(): Promise<string>;
  /** Reloads the page: for the VS Code web UI, a window reload (a new extension host). */
  reload(options?: {
    timeout?: number;
    waitUntil?: 'load' | 'domcontentloaded' | 'networkidle' | 'commit';
  }): Promise<unknown>;
  locator(selector: string, options?: LocatorOptions): Locator;
  keyboard: Keyboard;
  mouse: Mouse;
  screenshot(options?: { path?: string; fullPage?: boolean; timeout?: number }): Promise<Buffer>;
  isClosed(): boolean;
  close(): Promise<void>;
  on(event: 'console', listener: (m: ConsoleMessage) => void): this;
  on(event: 'pageerror', listener: (e: Error) => void): this;
  on(event: 'crash' | 'close', listener: () => void): this;
}

export interface LocatorOptions {
  has?: Locator;
  hasNot?: Locator;
  hasText?: string | RegExp;
  hasNotText?: string | RegExp;
}

export interface Locator {
  locator(selector: string, options?: LocatorOptions): Locator;
  filter(options: LocatorOptions & { visible?: boolean }): Locator;
  /** Elements matching both this locator and `other`. */
  and(other: Locator): Locator;
  first(): Locator;
  nth(index: number): Locator;
  count(): Promise<number>;
  click(options?: { timeout?: number }): Promise<void>;
  hover(options?: { timeout?: number }): Promise<void>;
  press(key: string, options?: { timeout?: number }): Promise<void>;
  fill(value: string, options?: { timeout?: number }): Promise<void>;
  waitFor(options?: { state?: 'attached' | 'detached' | 'visible' | 'hidden'; timeout?: number }): Promise<void>;
  isVisible(): Promise<boolean>;
  boundingBox(options?: { timeout?: number }): Promise<{ x: number; y: number; width: number; height: number } | null>;
  getAttribute(name: string, options?: { timeout?: number }): Promise<string | null>;
  inputValue(options?: { timeout?: number }): Promise<string>;
  textContent(options?: { timeout?: number }): Promise<string | null>;
  allTextContents(): Promise<string[]>;
  allInnerTexts(): Promise<string[]>;
}

export interface Mouse {
  move(x: number, y: number, options?: { steps?: number }): Promise<void>;
  down(): Promise<void>;
  up(): Promise<void>;
}

export interface Keyboard {
  press(key: string, options?: { delay?: number }): Promise<void>;
  type(text: string, options?: { delay?: number }): Promise<void>;
}

/** Chromium flags for a headless run in a container (no GPU, no sandbox as root, nothing phoning home). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
