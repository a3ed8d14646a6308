/**
 * The Postgres the integration tests use: the machine's, at 127.0.0.1:5432 (LATHE_TEST_PG_URL
 * overrides). Tests that need it are skipped, with a warning, when none is reachable.
 */
import pg from 'pg';

export const PG_URL = process.env.LATHE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}
