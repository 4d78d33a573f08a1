import type { RateLimitWindow } from "../../domain/fixed-window.js";
import type { RateLimitWindowStore } from "./index.js";

export function memoryRateLimitWindows(): RateLimitWindowStore {
  const windows = new Map<string, { used: number; endsAt: Date }>();
  const reserve = (window: RateLimitWindow, units: number) => {
    const counted = windows.get(window.id) ?? { used: 0, endsAt: new Date(window.endsAt) };
    const granted = Math.max(0, Math.min(units, window.limit - counted.used));
    counted.used += granted;
    windows.set(window.id, counted);
    return { granted, used: counted.used };
  };
  return {
    async reserveRateLimit(window, units) {
      return reserve(window, units);
    },

    async reserveRateLimits(reservations) {
      return reservations.map(({ window, units }) => reserve(window, units));
    },

    async countRateLimits(asked) {
      const counts = new Map<string, number>();
      for (const { id } of asked) {
        const counted = windows.get(id);
        if (counted) counts.set(id, counted.used);
      }
      return counts;
    },

    async pruneRateLimits(before) {
      for (const [id, window] of windows) if (window.endsAt < before) windows.delete(id);
    },
  };
}
