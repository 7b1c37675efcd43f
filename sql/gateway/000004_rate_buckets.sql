-- The gateway's rate limits shared by its instances (issue 19): one token bucket per key (`t:<token id>`,
-- `a:<account id>`), `tokens` as of `at` and refilled at `capacity` per 60 s. Each instance counts its
-- requests in memory and settles them here every GATEWAY_RATE_LIMIT_SYNC_MS in one statement
-- (services/gateway/src/auth/rate-limit-sync.ts); a negative level is what the instances together took
-- past the quota, paid back before the key is served again. UNLOGGED: after a crash the buckets start
-- full, which costs at most one window's quota, and the writes skip the WAL.
CREATE UNLOGGED TABLE gateway.rate_buckets (
  key text PRIMARY KEY CHECK (length(key) <= 100),
  capacity integer NOT NULL CHECK (capacity > 0),
  tokens double precision NOT NULL CHECK (tokens <= capacity AND tokens >= -capacity),
  at timestamptz NOT NULL
);
