// API error codes of the workflows, one block per workflow so that each area adds its own codes without
// touching the others'. apiErrors.ts merges them into the one code -> status map. Codes are public API:
// never rename or reuse one.

/** VM protection (issue 5): discover, register, protect, back up, restore, stop protection. */
export const VM_API_ERROR_STATUS = {} as const;

/** Offline seeding (issue 6): import jobs, shipping details, tracking numbers. */
export const OFFLINE_API_ERROR_STATUS = {} as const;
