// A line chart over time with uPlot (small, canvas): the page that shows charts loads it.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';

export interface ChartSeries {
  label: string;
  values: number[];
  color: string;
}

export function TimeChart({ title, times, series, format, height = 240, testId }: {
  title: string;
  /** Unix seconds. */
  times: number[];
  series: ChartSeries[];
  format: (n: number) => string;
  height?: number;
  testId?: string;
}) {
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height,
      scales: { x: { time: true }, y: { range: (_u, min, max) => [0, Math.max(max, min, 1) * 1.1] } },
      axes: [
        { stroke: '#4b5563', grid: { stroke: '#eef0f3' }, ticks: { stroke: '#e5e7eb' } },
        {
          stroke: '#4b5563',
          grid: { stroke: '#eef0f3' },
          ticks: { stroke: '#e5e7eb' },
          size: 64,
          values: (_u, splits) => splits.map((v) => format(v)),
        },
      ],
      series: [
        { label: 'Time', value: (_u, v) => (v == null ? '—' : new Date(v * 1000).toISOString().slice(0, 16).replace('T', ' ')) },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          fill: `${s.color}14`,
          points: { show: times.length <= 60, size: 5 },
          value: (_u: uPlot, v: number | null) => (v == null ? '—' : format(v)),
        })),
      ],
      legend: { live: true },
      cursor: { y: false },
    };
    const plot = new uPlot(opts, [times, ...series.map((s) => s.values)], el);
    const observer = new ResizeObserver(() => {
      plot.setSize({ width: Math.max(280, el.clientWidth), height });
    });
    observer.observe(el);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, [times, series, format, height]);

  const points = times.length;
  const nonZero = series.reduce((n, s) => n + s.values.filter((v) => v > 0).length, 0);
  const summary = series
    .map((s) => `${s.label}: ${format(s.values.reduce((a, b) => a + b, 0))} in total, peak ${format(Math.max(0, ...s.values))}`)
    .join('; ');
  return (
    <figure style={{ margin: 0 }}>
      <figcaption className="label" style={{ marginBottom: '0.4rem' }}>{title}</figcaption>
      <div
        ref={box}
        className="chart"
        role="img"
        aria-label={`${title}. ${summary}.`}
        data-testid={testId}
        data-points={points}
        data-nonzero={nonZero}
      />
    </figure>
  );
}
