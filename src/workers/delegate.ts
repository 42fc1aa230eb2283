// Gives a lightweight stand-in every member of the real class it stands in for (worker thread).
//
// LightRequest and LightResponse define the few members they answer themselves; everything else (text(), clone(),
// cache, and whatever a newer Node adds) must read the real object, built on first use. Copying the member list from
// the real prototype at load means none is missed on any Node line.

/** Defines on `target` each getter and method of `source` that `target` lacks, reading `real(this)` instead. */
export function delegateMissing(target: object, source: object, real: (self: object) => object): void {
  for (const [key, d] of Object.entries(Object.getOwnPropertyDescriptors(source))) {
    if (key === 'constructor' || Object.prototype.hasOwnProperty.call(target, key)) continue;
    if (d.get !== undefined) {
      Object.defineProperty(target, key, {
        get(this: object) {
          return (real(this) as Record<string, unknown>)[key];
        },
        configurable: true,
        enumerable: d.enumerable ?? false,
      });
    } else if (typeof d.value === 'function') {
      Object.defineProperty(target, key, {
        value(this: object, ...args: unknown[]) {
          return (real(this) as Record<string, (...a: unknown[]) => unknown>)[key]!(...args);
        },
        configurable: true,
        writable: true,
        enumerable: d.enumerable ?? false,
      });
    }
  }
  // After the copy: the stand-in is now an instance of the real class too (instanceof, Object.getPrototypeOf).
  Object.setPrototypeOf(target, source);
}
