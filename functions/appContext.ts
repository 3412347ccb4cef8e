// What every area's registration receives from functions/index.ts: the validated configuration and
// the one control plane of the app. Each area builds its own ports from these (lazily, on first use).
import type { StrongboxConfig } from '../shared/config/config';
import type { ControlPlane } from '../shared/controlPlane/controlPlane';

export interface AppContext {
  readonly config: StrongboxConfig;
  readonly cp: ControlPlane;
}
