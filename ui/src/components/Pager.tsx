/** "1–50 of 1,234" with previous/next links; `hrefAt(offset)` builds the link for a page. */
export function Pager(props: { offset: number; limit: number; total: number; shown: number; hrefAt: (offset: number) => string }) {
  const { offset, limit, total, shown, hrefAt } = props;
  if (total === 0) return null;
  const hasPrevious = offset > 0;
  const hasNext = offset + shown < total;
  return (
    <div className="pager" data-testid="pager">
      <span className="muted">
        {shown ? `${(offset + 1).toLocaleString()}–${(offset + shown).toLocaleString()}` : "0"} of {total.toLocaleString()}
      </span>
      <a className="button" href={hasPrevious ? hrefAt(Math.max(0, offset - limit)) : undefined} aria-disabled={!hasPrevious}>
        ← Newer
      </a>
      <a className="button" href={hasNext ? hrefAt(offset + limit) : undefined} aria-disabled={!hasNext}>
        Older →
      </a>
    </div>
  );
}
