import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, call, type ApiKeyWithSecret } from '../api/client';
import { errorSentence, fieldErrors } from '../api/errors';
import { keys } from '../api/queries';
import { useConfirm } from '../components/Confirm';
import { TextField } from '../components/Field';
import { CopyButton } from '../components/CopyButton';
import { KeyIcon } from '../components/Icons';
import { SecretOnce } from '../components/SecretOnce';
import { PageHeader } from '../components/Page';
import { EmptyState, ErrorState, InlineError, Loading } from '../components/States';
import { useToast } from '../components/Toasts';
import { formatDateTime } from '../lib/format';

/** A ready-to-paste upload with the new key: the first thing most people do with it. */
function uploadCommand(origin: string, secret: string): string {
  return [
    `curl -X PUT "${origin}/api/v1/images/your-image.jpg" \\`,
    `  -H "X-API-Key: ${secret}" \\`,
    `  -H "Content-Type: image/jpeg" \\`,
    '  --data-binary @your-image.jpg',
  ].join('\n');
}

function UploadCommand({ secret }: { secret: string }) {
  const command = uploadCommand(window.location.origin, secret);
  return (
    <div className="field" style={{ marginTop: '0.8rem' }}>
      <span className="label" id="upload-command-label">Try it: upload <code>your-image.jpg</code> with this key</span>
      <pre aria-labelledby="upload-command-label" tabIndex={0} data-testid="upload-command">{command}</pre>
      <div>
        <CopyButton text={command} what="the upload command" />
      </div>
    </div>
  );
}

export default function Keys() {
  const queryClient = useQueryClient();
  const confirm = useConfirm();
  const toast = useToast();
  const [name, setName] = useState('');
  const [nameError, setNameError] = useState<string>();
  const [revealed, setRevealed] = useState<{ key: ApiKeyWithSecret; rotated: boolean } | null>(null);

  const list = useQuery({
    queryKey: keys.keys,
    queryFn: ({ signal }) => call(api.GET('/api/v1/keys', { signal })).then((r) => r.items),
  });

  const create = useMutation({
    mutationFn: (keyName: string) => call(api.POST('/api/v1/keys', { body: { name: keyName } })),
    onSuccess: (key) => {
      setRevealed({ key, rotated: false });
      setName('');
      void queryClient.invalidateQueries({ queryKey: keys.keys });
    },
    onError: (e) => setNameError(fieldErrors(e).name),
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const n = name.trim();
    if (!n) {
      setNameError('Give the key a name, like "build server".');
      return;
    }
    if (n.length > 100) {
      setNameError('At most 100 characters.');
      return;
    }
    setNameError(undefined);
    create.mutate(n);
  };

  const rotate = async (id: string, keyName: string) => {
    const ok = await confirm({
      title: `Rotate “${keyName}”?`,
      message: 'A new secret is created and the current one stops working at once. Scripts using it fail until you update them.',
      confirmLabel: 'Rotate key',
    });
    if (!ok) return;
    try {
      const key = await call(api.POST('/api/v1/keys/{id}/rotate', { params: { path: { id } } }));
      setRevealed({ key, rotated: true });
      void queryClient.invalidateQueries({ queryKey: keys.keys });
    } catch (e) {
      toast(errorSentence(e), 'error');
    }
  };

  const remove = async (id: string, keyName: string) => {
    const ok = await confirm({
      title: `Delete “${keyName}”?`,
      message: 'Requests using this key are refused at once. This cannot be undone.',
      confirmLabel: 'Delete key',
    });
    if (!ok) return;
    try {
      await call(api.DELETE('/api/v1/keys/{id}', { params: { path: { id } } }));
      if (revealed?.key.id === id) setRevealed(null);
      toast(`Deleted the key “${keyName}”`);
      void queryClient.invalidateQueries({ queryKey: keys.keys });
    } catch (e) {
      toast(errorSentence(e), 'error');
    }
  };

  return (
    <>
      <PageHeader
        title="API keys"
        description={<>For scripts and servers: send a key as the <code>X-API-Key</code> header to <code>/api/v1</code>.</>}
      />
      {revealed && (
        <SecretOnce
          title={revealed.rotated ? `New secret for “${revealed.key.name}”` : `Your new key “${revealed.key.name}”`}
          label="API key secret"
          secret={revealed.key.secret}
          onDone={() => setRevealed(null)}
        >
          <UploadCommand secret={revealed.key.secret} />
        </SecretOnce>
      )}
      <section className="card" aria-labelledby="create-key">
        <h2 id="create-key" style={{ marginBottom: '0.8rem' }}>Create a key</h2>
        <form onSubmit={submit} className="row" style={{ alignItems: 'flex-start' }} noValidate>
          <div style={{ flex: '1 1 260px' }}>
            <TextField label="Name" value={name} onChange={(e) => setName(e.target.value)} error={nameError} placeholder="e.g. build server" maxLength={100} />
          </div>
          <button type="submit" className="btn btn-primary" style={{ marginTop: '1.65rem' }} disabled={create.isPending}>
            {create.isPending ? 'Creating…' : 'Create key'}
          </button>
        </form>
        {create.isError && !nameError && <div style={{ marginTop: '0.8rem' }}><InlineError error={create.error} /></div>}
      </section>

      <section className="card" aria-labelledby="key-list">
        <h2 id="key-list" style={{ marginBottom: '0.8rem' }}>Your keys</h2>
        {list.isPending && <Loading />}
        {list.isError && <ErrorState error={list.error} onRetry={() => list.refetch()} />}
        {list.data?.length === 0 && (
          <EmptyState icon={<KeyIcon />} title="No API keys yet">
            Create one above to upload and manage images from your scripts and servers.
          </EmptyState>
        )}
        {list.data && list.data.length > 0 && (
          <div className="table-wrap">
            <table className="responsive-table">
              <thead>
                <tr><th scope="col">Name</th><th scope="col">Key</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col"><span className="visually-hidden">Actions</span></th></tr>
              </thead>
              <tbody>
                {list.data.map((k) => (
                  <tr key={k.id} data-testid="key-row">
                    <td data-label="Name"><strong className="break">{k.name}</strong></td>
                    <td data-label="Key"><code>{k.prefix}…</code></td>
                    <td data-label="Created">{formatDateTime(k.created_at)}</td>
                    <td data-label="Last used">{k.last_used_at ? formatDateTime(k.last_used_at) : <span className="muted">Never</span>}</td>
                    <td className="actions">
                      <div className="row" style={{ justifyContent: 'flex-end' }}>
                        <button type="button" className="btn btn-sm" onClick={() => rotate(k.id, k.name)} aria-label={`Rotate the key ${k.name}`}>Rotate</button>
                        <button type="button" className="btn btn-sm btn-danger-outline" onClick={() => remove(k.id, k.name)} aria-label={`Delete the key ${k.name}`}>Delete</button>
                      </div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
