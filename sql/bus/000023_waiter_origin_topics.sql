-- Issue 14: a producer rings (NOTIFYs) only for another process that waits for one of its topics.
-- origin: the ringer of the waiting process's pool (services/kit/src/bus/doorbell.ts), whose own
-- commits it hears in-process, so they need no NOTIFY; topics: those its readers and consumer groups
-- read, NULL when one of them reads every topic. A row without them (written by an older process)
-- wants every ring, as before.
ALTER TABLE bus.waiters ADD COLUMN origin text, ADD COLUMN topics text[];
