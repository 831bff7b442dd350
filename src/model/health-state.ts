// A realserver's health as every part of lvsd names it (tracker, desired table, status, metrics).

/** 'unknown' until the first check result of the real (or after its probe changed). */
export type HealthState = 'unknown' | 'up' | 'down';
