// Registers the VM workflows' orchestrations, activities, entities and timers (issue 5).
import type { AppContext } from '../appContext';

export function registerVmFunctions(_ctx: AppContext): void {
  // Filled in by the VM workflow slice.
}
