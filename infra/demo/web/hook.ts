// Installs `window.cascadeDemo`, the page's test hook (shape in hook-types.ts).
import type { DemoHook } from './hook-types.js';

export type { ChatLine, DemoHook } from './hook-types.js';

declare global {
  interface Window {
    cascadeDemo?: DemoHook;
  }
}

export function installHook(h: DemoHook): DemoHook {
  window.cascadeDemo = h;
  return h;
}
