import { Link } from 'react-router';
import { PageHeader } from '../components/Page';

export default function NotFound() {
  return (
    <>
      <PageHeader title="Page not found" />
      <div className="card">
        <p>There is no page at this address.</p>
        <Link to="/" className="btn btn-primary">Go to the overview</Link>
      </div>
    </>
  );
}
