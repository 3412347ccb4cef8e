// API operations of offline seeding (issue 6): initiate offline backup, import jobs, shipping details.
import type { ApiOperation } from '../api/apiOperation';

export const OFFLINE_OPERATIONS: readonly ApiOperation[] = [];
