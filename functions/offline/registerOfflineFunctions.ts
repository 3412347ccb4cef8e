// Registers offline seeding's orchestrations, activities, queue triggers and timers (issue 6).
import type { AppContext } from '../appContext';

export function registerOfflineFunctions(_ctx: AppContext): void {
  // Filled in by the offline seeding slice.
}
