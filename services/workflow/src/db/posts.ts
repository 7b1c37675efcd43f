import type { Queryable } from '@llmops/kit/db';

export type PostStatus = 'draft' | 'in_process' | 'published' | 'archived';

export interface PostRow {
  id: string;
  title: string;
  slug: string;
  status: PostStatus;
  substage_id: string;
  created_by: string;
  created_at: Date;
  updated_at: Date;
}

export async function insert(tx: Queryable, row: Omit<PostRow, 'created_at' | 'updated_at'>): Promise<void> {
  await tx.query(
    `INSERT INTO workflow.posts (id, title, slug, status, substage_id, created_by) VALUES ($1, $2, $3, $4, $5, $6)`,
    [row.id, row.title, row.slug, row.status, row.substage_id, row.created_by],
  );
}

export async function get(db: Queryable, id: string, { lock = false } = {}): Promise<PostRow | undefined> {
  const { rows } = await db.query<PostRow>(`SELECT * FROM workflow.posts WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0];
}

/** The slugs taken among `base` and `base-N`: a derived slug takes the first free one. */
export async function slugsLike(db: Queryable, base: string): Promise<Set<string>> {
  const { rows } = await db.query<{ slug: string }>(
    `SELECT slug FROM workflow.posts WHERE slug = $1 OR slug ~ ('^' || $1 || '-[0-9]+$')`,
    [base],
  );
  return new Set(rows.map((row) => row.slug));
}

/** Newest first (ids are UUIDv7); `q` matches words of the title or the slug, case-insensitively. */
export async function list(
  db: Queryable,
  filter: {
    limit: number;
    before?: string | undefined;
    q?: string | undefined;
    status?: PostStatus | undefined;
    substageId?: string | undefined;
  },
): Promise<PostRow[]> {
  const { rows } = await db.query<PostRow>(
    `SELECT * FROM workflow.posts
     WHERE ($1::uuid IS NULL OR id < $1) AND ($2::text IS NULL OR status = $2) AND ($3::uuid IS NULL OR substage_id = $3)
       AND ($4::text IS NULL OR (title || ' ' || slug) ILIKE ('%' || replace(replace(replace($4, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%'))
     ORDER BY id DESC LIMIT $5`,
    [filter.before ?? null, filter.status ?? null, filter.substageId ?? null, filter.q ?? null, filter.limit],
  );
  return rows;
}

export async function update(
  tx: Queryable,
  id: string,
  changes: {
    title?: string | undefined;
    slug?: string | undefined;
    status?: PostStatus | undefined;
    substage_id?: string | undefined;
  },
): Promise<void> {
  await tx.query(
    `UPDATE workflow.posts SET title = coalesce($2, title), slug = coalesce($3, slug), status = coalesce($4, status),
       substage_id = coalesce($5, substage_id), updated_at = now()
     WHERE id = $1`,
    [id, changes.title ?? null, changes.slug ?? null, changes.status ?? null, changes.substage_id ?? null],
  );
}

/** A change to the post's values or sections shows on the post too (its ETag, "last edited"). */
export async function touch(tx: Queryable, id: string): Promise<void> {
  await tx.query('UPDATE workflow.posts SET updated_at = now() WHERE id = $1', [id]);
}
