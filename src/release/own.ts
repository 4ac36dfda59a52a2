/**
 * Own-property lookup for records keyed by user-chosen names. Agent ids, versions and tool or workflow names
 * such as `constructor` or `toString` are valid, so `record[name]` alone would find Object.prototype members.
 */
export const own = <T>(record: Readonly<Record<string, T>>, key: string): T | undefined =>
  Object.hasOwn(record, key) ? record[key] : undefined;
