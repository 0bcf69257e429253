/** The value under `key`, made and stored first when there is none. */
export function getOrCreate<K, V>(m: Map<K, V>, key: K, make: () => V): V {
  const found = m.get(key);
  if (found !== undefined) return found;
  const created = make();
  m.set(key, created);
  return created;
}
