import type { FromWebview } from '../../protocol/webview';

/** The part of VS Code's webview API the preview uses. */
export interface Host {
  postMessage(message: FromWebview): void;
  getState(): unknown;
  setState(state: unknown): void;
}

const KEY = 'vidkompy-preview-state';

/**
 * VS Code's API, or a stand-in outside VS Code (a plain browser, tests) that keeps the state in
 * sessionStorage, so a reload behaves like hiding and showing the panel, and announces posted
 * messages as `vidkompy:post` events on window. `acquireVsCodeApi` may only be called once per page.
 */
export function acquireHost(): Host {
  const g = globalThis as { acquireVsCodeApi?: () => Host };
  if (typeof g.acquireVsCodeApi === 'function') return g.acquireVsCodeApi();
  let memory: unknown;
  return {
    postMessage(message) {
      window.dispatchEvent(new CustomEvent('vidkompy:post', { detail: message }));
    },
    getState() {
      try {
        const s = sessionStorage.getItem(KEY);
        return s ? JSON.parse(s) : memory;
      } catch {
        return memory;
      }
    },
    setState(state) {
      memory = state;
      try {
        sessionStorage.setItem(KEY, JSON.stringify(state));
      } catch {
        // Storage can be off (file:// pages, privacy settings): memory still covers this page's life.
      }
    },
  };
}
