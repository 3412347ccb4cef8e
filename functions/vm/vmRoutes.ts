// API operations of the VM workflows (issue 5): discover, register, protect, back up now, restore,
// stop protection. Long operations answer 202 with the job as the async operation (apiOperation.ts).
import type { ApiOperation } from '../api/apiOperation';

export const VM_OPERATIONS: readonly ApiOperation[] = [];
