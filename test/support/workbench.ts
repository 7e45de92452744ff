import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Frame, type Page } from 'playwright-core';

/**
 * VS Code's workbench in Chromium, driven as a person would: click in the explorer, F1, type a
 * command's title, Enter; read the Problems panel, the status bar and webviews.
 */

export const CHROMIUM = '/usr/bin/chromium';

/** Debian's Chromium, quiet on a closed network, with a fresh profile. */
export async function launchChromium(): Promise<BrowserContext> {
  const profile = await fs.mkdtemp(path.join(os.tmpdir(), 'vidkompy-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    viewport: { width: 1400, height: 900 },
    deviceScaleFactor: 1,
  });
  context.once('close', () => void fs.rm(profile, { recursive: true, force: true }).catch(() => undefined));
  return context;
}

export async function until<T>(what: string, f: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last})` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const css = (id: string) => `[id="${id}"]`;

export class Workbench {
  /** Console errors and page errors, for failure messages. */
  readonly problems: string[] = [];

  constructor(readonly page: Page) {
    page.setDefaultTimeout(30_000);
    page.on('pageerror', (e) => this.problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') this.problems.push(`console: ${m.text().slice(0, 300)}`);
    });
  }

  /** Opens the workbench at `url` and waits for the explorer to list the folder. */
  async open(url: string): Promise<void> {
    await this.page.goto(url);
    await this.page.waitForSelector('.explorer-folders-view .monaco-list-row', { timeout: 90_000 });
  }

  /** Clicks a file in the explorer (which also gives the workbench keyboard focus). */
  async clickFile(name: string): Promise<void> {
    await this.page.locator(`.explorer-folders-view .monaco-list-row[aria-label="${name}"]`).click();
    await this.page.locator(`.tabs-container .tab[aria-label*="${name}"]`).first().waitFor();
  }

  /**
   * F1, the command's title, Enter: once the palette's first pick is that command. `opens`: the
   * command shows a picker of its own, with this title, in the palette's place.
   */
  async runCommand(title: string, opens?: string): Promise<void> {
    await this.page.keyboard.press('F1');
    const input = this.page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.pressSequentially(title, { delay: 10 });
    const first = this.page.locator('.quick-input-widget .monaco-list-row').first();
    await until(`"${title}" first in the command palette`, async () => ((await first.getAttribute('aria-label')) ?? '').startsWith(title), 15_000);
    await this.page.keyboard.press('Enter');
    if (opens) await this.page.locator('.quick-input-widget .quick-input-title', { hasText: opens }).waitFor();
    else await this.page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
  }

  /** The Problems panel's text (the panel is opened with its command if need be). */
  async problemsText(): Promise<string> {
    const panel = this.page.locator('.markers-panel');
    if (!(await panel.isVisible())) await this.runCommand('View: Focus Problems');
    return panel.innerText();
  }

  /** A status bar item's accessible label (`extensionId.itemId`). */
  async statusItem(id: string): Promise<string> {
    return (await this.page.locator(`#workbench\\.parts\\.statusbar ${css(id)}`).first().getAttribute('aria-label', { timeout: 5000 })) ?? '';
  }

  /** The text of the editor showing `name`, as Monaco renders it (visible lines). */
  async editorText(name: string): Promise<string> {
    return (await this.page.locator(`.monaco-editor[data-uri$="/${name}"] .view-lines`).first().innerText()).replace(/\u00a0/g, ' ');
  }

  /** The frame of a webview whose document has an element matching `selector`. */
  async webviewFrame(selector: string, timeoutMs = 60_000): Promise<Frame> {
    return until(
      `a webview frame with ${selector}`,
      async () => {
        for (const f of this.page.frames()) {
          if (f === this.page.mainFrame()) continue;
          // Strings, not functions, in pages: tsx's helpers (__name) do not exist there.
          if (await f.evaluate(`!!document.querySelector(${JSON.stringify(selector)})`).catch(() => false)) return f;
        }
        return undefined;
      },
      timeoutMs,
    );
  }

  /** The notification toasts on screen now (progress ones included), each as its text. */
  async toasts(): Promise<string[]> {
    const items = this.page.locator('.notifications-toasts .notification-list-item');
    const texts: string[] = [];
    for (const item of await items.all()) if (await item.isVisible()) texts.push((await item.innerText()).replace(/\s+/g, ' ').trim());
    return texts;
  }

  /** Clicks the button `label` of the toast showing `text`. */
  async clickToastButton(text: string | RegExp, label: string): Promise<void> {
    const toast = this.page.locator('.notifications-toasts .notification-list-item', { hasText: text }).first();
    await toast.hover();
    await toast.locator('.monaco-button', { hasText: label }).first().click();
  }

  /** The rows of the open quick pick (the palette, a picker), each as its text (label, description, detail). */
  async quickPickRows(): Promise<string[]> {
    const rows = await this.page.locator('.quick-input-widget .monaco-list-row').allInnerTexts();
    return rows.map((r) => r.replace(/\s+/g, ' ').trim());
  }

  /** The names the Explorer lists (its visible rows). */
  async explorerNames(): Promise<string[]> {
    return this.page.locator('.explorer-folders-view .monaco-list-row').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
  }

  async screenshot(file: string): Promise<string> {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await this.page.screenshot({ path: file });
    return file;
  }
}
