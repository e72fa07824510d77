import { Link } from 'react-router';
import { LockIcon } from './Icons';

/** "Available on the Pro plan" beside a disabled control, linking to Billing. */
export function GateNote({ message, id }: { message: string | null; id?: string }) {
  if (!message) return null;
  return (
    <span className="gate" id={id}>
      <LockIcon /> <Link to="/billing">{message}</Link>
    </span>
  );
}
