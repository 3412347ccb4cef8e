// Everything the VM workflows' steps need, as ports: the control plane, their own rows, the machines
// (Inventory, change tracking, snapshot reads, restores) and the data plane. functions/vm builds one
// from the app's configuration; tests build one over Azurite or memory.
import type { ControlPlane } from '../controlPlane/controlPlane';
import type { ChangeTracker, DiskSnapshotReader } from '../inventory/changeTracker';
import type { Inventory } from '../inventory/inventory';
import type { VmProvisioner } from '../inventory/vmProvisioner';
import type { VmDataPlane } from './vmDataPlane';
import type { VmStateStore } from './vmStateStore';

export type VmPlatform = Inventory & ChangeTracker & DiskSnapshotReader & VmProvisioner;

export interface VmDeps {
  readonly cp: ControlPlane;
  readonly state: VmStateStore;
  readonly platform: VmPlatform;
  readonly dataPlane: VmDataPlane;
  /** Register refuses VMs with more data disks than this (default DEFAULT_MAX_DATA_DISKS). */
  readonly maxDataDisks: number;
}
