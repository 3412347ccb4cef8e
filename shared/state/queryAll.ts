// Every row of a query, following continuation tokens: the one loop over StateStore.query's paging,
// for callers that need the whole result (listings that are bounded by a service limit, clean-ups).
import type { QueryOptions, StateDocument, StateStore, StoredEntity } from './stateStore';

export async function queryAll<T extends StateDocument>(
  store: StateStore,
  table: string,
  partitionKey: string,
  options: Omit<QueryOptions, 'continuationToken'> = {},
): Promise<StoredEntity<T>[]> {
  const out: StoredEntity<T>[] = [];
  let token: string | undefined;
  do {
    const page = await store.query<T>(table, partitionKey, {
      ...options,
      ...(token !== undefined ? { continuationToken: token } : {}),
    });
    out.push(...page.items);
    token = page.continuationToken;
  } while (token !== undefined);
  return out;
}
