import { formatBytes, formatPercent, quotaPercent } from '../lib/format';

export function ProgressBar({ percent, label, tone }: { percent: number; label: string; tone?: 'done' | 'error' }) {
  const p = Math.max(0, Math.min(100, Math.round(percent)));
  return (
    <div
      className={`bar ${tone ?? ''}`}
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={p}
    >
      <span style={{ width: `${p}%` }} />
    </div>
  );
}

/** "Bandwidth: 1.2 GB of 100 GB" with a bar that turns amber at 80% and red at 100%. */
export function QuotaBar({ label, used, quota, format = formatBytes }: {
  label: string;
  used: number;
  quota: number;
  format?: (n: number) => string;
}) {
  const percent = quotaPercent(used, quota);
  const tone = used >= quota && quota > 0 ? 'over' : percent >= 80 ? 'warn' : '';
  return (
    <div className="quota">
      <div className="quota-head">
        <span className="label">{label}</span>
        <span className="muted">
          <strong style={{ color: 'var(--text)' }}>{format(used)}</strong> of {format(quota)} ({formatPercent(used, quota)})
        </span>
      </div>
      <div
        className={`bar ${tone}`}
        role="meter"
        aria-label={`${label} used`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(percent)}
        aria-valuetext={`${format(used)} of ${format(quota)}`}
      >
        <span style={{ width: `${Math.max(percent, used > 0 ? 1 : 0)}%` }} />
      </div>
    </div>
  );
}
