import { useEffect, useRef, type ReactNode } from 'react';

/** The page's h1 (focused on arrival, for screen readers and keyboard users) and its title. */
export function PageHeader({ title, description, actions }: {
  title: string;
  description?: ReactNode;
  actions?: ReactNode;
}) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · ImageCDN`;
    heading.current?.focus({ preventScroll: true });
  }, [title]);
  return (
    <div className="page-header">
      <div>
        <h1 ref={heading} tabIndex={-1} style={{ outline: 'none' }}>{title}</h1>
        {description && <p>{description}</p>}
      </div>
      {actions && <div className="page-actions">{actions}</div>}
    </div>
  );
}
