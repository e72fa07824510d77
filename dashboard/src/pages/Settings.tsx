import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent, type ReactNode } from 'react';
import { api, call, type Customer, type Preset, type SettingsPatch } from '../api/client';
import { ApiError, errorSentence, fieldErrors } from '../api/errors';
import { LIMITS } from '../api/limits';
import { keys, useCustomer, usePlanGates, usePresets } from '../api/queries';
import { useConfirm } from '../components/Confirm';
import { CheckField, SelectField, TextAreaField, TextField } from '../components/Field';
import { HostList } from '../components/HostList';
import { GateNote } from '../components/PlanGate';
import { PageHeader } from '../components/Page';
import { SecretOnce } from '../components/SecretOnce';
import { Alert, EmptyState, ErrorState, InlineError, Loading } from '../components/States';
import { useToast } from '../components/Toasts';
import { formatDateTime } from '../lib/format';
import { presetOptionProblems } from '../lib/urlBuilder';
import { validateImagePath } from '../lib/validate';

/** The settings' bounds, as the API's OpenAPI document states them. */
const QUALITY = LIMITS.defaultQuality;
const TTL = LIMITS.cacheTtlSeconds;

function Section({ id, title, description, children }: { id: string; title: string; description?: ReactNode; children: ReactNode }) {
  return (
    <section className="card" aria-labelledby={id}>
      <div className="card-header">
        <div>
          <h2 id={id}>{title}</h2>
          {description && <p>{description}</p>}
        </div>
      </div>
      {children}
    </section>
  );
}

/** PATCH /customer/settings; field errors (422 naming the field) come back per field. */
function useSaveSettings() {
  const queryClient = useQueryClient();
  const toast = useToast();
  return useMutation({
    mutationFn: (patch: SettingsPatch) => call(api.PATCH('/api/v1/customer/settings', { body: patch })),
    onSuccess: (customer) => {
      queryClient.setQueryData(keys.customer, customer);
      toast('Settings saved');
    },
  });
}

function errorsOf(error: unknown): { fields: Record<string, string>; form: unknown } {
  const fields = fieldErrors(error);
  return { fields, form: Object.keys(fields).length ? null : error };
}

function DeliveryDefaults({ customer }: { customer: Customer }) {
  const s = customer.settings;
  const gates = usePlanGates();
  const save = useSaveSettings();
  const [quality, setQuality] = useState(s.default_quality?.toString() ?? '');
  const [format, setFormat] = useState<string>(s.default_format ?? '');
  const [ttl, setTtl] = useState(s.cache_ttl_seconds?.toString() ?? '');
  const [local, setLocal] = useState<Record<string, string>>({});
  const avifGate = gates.gate({ feature: 'avif' });
  const { fields, form } = errorsOf(save.error);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const problems: Record<string, string> = {};
    if (quality && !(/^\d+$/.test(quality) && Number(quality) >= QUALITY.min && Number(quality) <= QUALITY.max)) problems.default_quality = `A whole number from ${QUALITY.min} to ${QUALITY.max}, or empty for the format’s default.`;
    if (ttl && !(/^\d+$/.test(ttl) && Number(ttl) >= TTL.min && Number(ttl) <= TTL.max)) problems.cache_ttl_seconds = `Seconds from ${TTL.min} to ${TTL.max} (a year), or empty for the default.`;
    setLocal(problems);
    if (Object.keys(problems).length) return;
    save.mutate({
      default_quality: quality ? Number(quality) : null,
      default_format: (format || null) as SettingsPatch['default_format'],
      cache_ttl_seconds: ttl ? Number(ttl) : null,
    });
  };

  return (
    <Section id="defaults" title="Delivery defaults" description="Used when a URL does not say otherwise.">
      <form onSubmit={submit} noValidate>
        <div className="form-grid">
          <TextField
            label="Default quality"
            inputMode="numeric"
            value={quality}
            onChange={(e) => setQuality(e.target.value)}
            placeholder="format default"
            hint={`${QUALITY.min}–${QUALITY.max}. Empty: each format’s default.`}
            error={local.default_quality ?? fields.default_quality}
          />
          <SelectField
            label="Default format"
            value={format}
            onChange={(e) => setFormat(e.target.value)}
            error={fields.default_format}
            hint={avifGate ? <GateNote message={`AVIF: ${avifGate}`} /> : 'Used when a URL has no format.'}
          >
            <option value="">The original’s format</option>
            <option value="auto">auto (best the browser accepts)</option>
            <option value="jpeg">jpeg</option>
            <option value="png">png</option>
            <option value="webp">webp</option>
            <option value="avif" disabled={Boolean(avifGate)}>avif{avifGate ? ' (upgrade)' : ''}</option>
            <option value="gif">gif</option>
          </SelectField>
          <TextField
            label="Cache TTL (seconds)"
            inputMode="numeric"
            value={ttl}
            onChange={(e) => setTtl(e.target.value)}
            placeholder="31536000 (a year, immutable)"
            hint="How long browsers and CDNs may keep an image."
            error={local.cache_ttl_seconds ?? fields.cache_ttl_seconds}
          />
        </div>
        {form != null && <div style={{ marginTop: '1rem' }}><InlineError error={form} /></div>}
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={save.isPending}>{save.isPending ? 'Saving…' : 'Save defaults'}</button>
        </div>
      </form>
    </Section>
  );
}

function Access({ customer }: { customer: Customer }) {
  const s = customer.settings;
  const gates = usePlanGates();
  const save = useSaveSettings();
  const [domains, setDomains] = useState<string[]>(s.allowed_domains ?? []);
  const [signed, setSigned] = useState(Boolean(s.require_signed_urls));
  const [presetsOnly, setPresetsOnly] = useState(Boolean(s.presets_only));
  const signedGate = gates.gate({ feature: 'signed_urls' });
  // After a downgrade the edge still enforces it (see the notice): it can only be turned off.
  const signedLocked = Boolean(signedGate) && !s.require_signed_urls;
  const signedNotice = customer.notices?.find((n) => n.setting === 'require_signed_urls');
  const { fields, form } = errorsOf(save.error);

  return (
    <Section id="access" title="Access" description="Who may show your images, and how URLs must look.">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate({ allowed_domains: domains, require_signed_urls: signedLocked ? undefined : signed, presets_only: presetsOnly });
        }}
        noValidate
      >
        <div className="stack">
          {signedNotice && <Alert kind="warning">{signedNotice.message}</Alert>}
          <HostList
            label="Allowed domains"
            hint="Sites that may embed your images (checked against Origin and Referer). Use *.example.com for subdomains. Empty: any site."
            values={domains}
            onChange={setDomains}
            wildcard
            error={fields.allowed_domains}
            placeholder="www.example.com"
          />
          <CheckField
            label="Require signed URLs"
            hint={
              signedGate ? (
                <GateNote message={signedGate} />
              ) : (
                'Only URLs signed with your signing secret are served. The URL builder signs them for you.'
              )
            }
            checked={signed}
            disabled={signedLocked}
            onChange={(e) => setSigned(e.target.checked)}
            error={fields.require_signed_urls}
          />
          <CheckField
            label="Presets only"
            hint="Transforms must name a preset, so nobody can vary sizes to use up your quota. Originals are still served."
            checked={presetsOnly}
            onChange={(e) => setPresetsOnly(e.target.checked)}
            error={fields.presets_only}
          />
        </div>
        {form != null && <div style={{ marginTop: '1rem' }}><InlineError error={form} /></div>}
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={save.isPending}>{save.isPending ? 'Saving…' : 'Save access settings'}</button>
        </div>
      </form>
    </Section>
  );
}

function CustomDomains({ customer }: { customer: Customer }) {
  const gates = usePlanGates();
  const save = useSaveSettings();
  const [domains, setDomains] = useState<string[]>(customer.custom_domains ?? customer.settings.custom_domains ?? []);
  const allowed = gates.current?.custom_domains ?? 0;
  const gate = gates.gate({ feature: 'custom_domains' });
  const { fields, form } = errorsOf(save.error);
  const conflict = save.error instanceof ApiError && save.error.status === 409 ? errorSentence(save.error) : undefined;

  return (
    <Section
      id="custom-domains"
      title="Custom domains"
      description={<>Serve images from your own host name, e.g. <code>images.example.com/photo.jpg</code>. Point its DNS at this service.</>}
    >
      {gate && <p><GateNote message={gate} /></p>}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate({ custom_domains: domains });
        }}
        noValidate
      >
        <HostList
          label="Host names"
          hint={gate ? undefined : `Your plan allows ${allowed}.`}
          values={domains}
          onChange={setDomains}
          wildcard={false}
          disabled={Boolean(gate)}
          max={allowed}
          error={fields.custom_domains ?? conflict}
          placeholder="images.example.com"
        />
        {form != null && !conflict && <div style={{ marginTop: '1rem' }}><InlineError error={form} /></div>}
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={save.isPending || Boolean(gate)}>
            {save.isPending ? 'Saving…' : 'Save custom domains'}
          </button>
        </div>
      </form>
    </Section>
  );
}

function Presets() {
  const presets = usePresets();
  const gates = usePlanGates();
  const queryClient = useQueryClient();
  const confirm = useConfirm();
  const toast = useToast();
  const [editing, setEditing] = useState<Preset | null>(null);
  const [name, setName] = useState('');
  const [options, setOptions] = useState('');
  const [local, setLocal] = useState<Record<string, string>>({});
  const saveMutation = useMutation({
    mutationFn: (p: { name: string; options: string }) =>
      call(api.PUT('/api/v1/presets/{name}', { params: { path: { name: p.name } }, body: { options: p.options } })),
    onSuccess: (p) => {
      toast(editing ? `Preset “${p.name}” saved` : `Preset “${p.name}” created`);
      setEditing(null);
      setName('');
      setOptions('');
      void queryClient.invalidateQueries({ queryKey: keys.presets });
    },
  });
  const { fields, form } = errorsOf(saveMutation.error);

  // The fields are filled in the same update that shows the edit form: an effect would fill
  // them one render later, over anything typed in between (a slow machine made that visible).
  const startEditing = (p: Preset) => {
    setEditing(p);
    setName(p.name);
    setOptions(p.options);
    setLocal({});
    saveMutation.reset();
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const problems: Record<string, string> = {};
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) problems.name = '1–64 letters, digits, "-" or "_".';
    if (!options.trim()) problems.options = 'Options as in a URL, e.g. w=400&h=300&fit=cover.';
    else {
      // Every problem at once, with this plan's limits (the API names the first only).
      const found = presetOptionProblems(options.trim(), {
        maxDimension: gates.current?.max_dimension ?? 2048,
        avif: gates.current?.avif ?? false,
      });
      if (found.length) problems.options = found.join(' ');
    }
    setLocal(problems);
    if (Object.keys(problems).length) return;
    saveMutation.mutate({ name, options: options.trim().replace(/^\?/, '') });
  };

  const remove = async (p: Preset) => {
    const ok = await confirm({
      title: `Delete the preset “${p.name}”?`,
      message: <>URLs with <code>preset={p.name}</code> will answer 400 <code>unknown_preset</code>.</>,
      confirmLabel: 'Delete preset',
    });
    if (!ok) return;
    try {
      await call(api.DELETE('/api/v1/presets/{name}', { params: { path: { name: p.name } } }));
      toast(`Preset “${p.name}” deleted`);
      if (editing?.name === p.name) setEditing(null);
      void queryClient.invalidateQueries({ queryKey: keys.presets });
    } catch (e) {
      toast(errorSentence(e), 'error');
    }
  };

  return (
    <Section id="presets" title="Presets" description={<>Named sets of options: <code>?preset=thumb</code> instead of <code>?w=400&amp;h=300&amp;fit=cover</code>.</>}>
      {presets.isPending && <Loading />}
      {presets.isError && <ErrorState error={presets.error} onRetry={() => presets.refetch()} />}
      {presets.data?.length === 0 && (
        <EmptyState title="No presets yet">Create one below, then use it in URLs as <code>?preset=name</code>.</EmptyState>
      )}
      {presets.data && presets.data.length > 0 && (
        <div className="table-wrap" style={{ marginBottom: '1.25rem' }}>
          <table className="responsive-table">
            <thead><tr><th scope="col">Name</th><th scope="col">Options</th><th scope="col">Updated</th><th scope="col"><span className="visually-hidden">Actions</span></th></tr></thead>
            <tbody>
              {presets.data.map((p) => (
                <tr key={p.name}>
                  <td data-label="Name"><strong>{p.name}</strong></td>
                  <td data-label="Options"><code>{p.options}</code></td>
                  <td data-label="Updated">{formatDateTime(p.updated_at)}</td>
                  <td className="actions">
                    <div className="row" style={{ justifyContent: 'flex-end' }}>
                      <button type="button" className="btn btn-sm" onClick={() => startEditing(p)} aria-label={`Edit the preset ${p.name}`}>Edit</button>
                      <button type="button" className="btn btn-sm btn-danger-outline" onClick={() => remove(p)} aria-label={`Delete the preset ${p.name}`}>Delete</button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <form onSubmit={submit} noValidate aria-label={editing ? `Edit the preset ${editing.name}` : 'New preset'}>
        <h3 style={{ marginBottom: '0.75rem' }}>{editing ? `Edit “${editing.name}”` : 'New preset'}</h3>
        <div className="form-grid">
          <TextField label="Name" value={name} onChange={(e) => setName(e.target.value)} disabled={Boolean(editing)} error={local.name ?? fields.name} placeholder="thumb" />
          <TextField
            label="Options"
            value={options}
            onChange={(e) => setOptions(e.target.value)}
            error={local.options ?? fields.options}
            placeholder="w=400&h=300&fit=cover&format=auto"
            hint="Checked exactly as URL options."
            spellCheck={false}
          />
        </div>
        {form != null && <div style={{ marginTop: '1rem' }}><InlineError error={form} /></div>}
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={saveMutation.isPending}>
            {saveMutation.isPending ? 'Saving…' : editing ? 'Save preset' : 'Create preset'}
          </button>
          {editing && <button type="button" className="btn" onClick={() => { setEditing(null); setName(''); setOptions(''); }}>Cancel</button>}
        </div>
      </form>
    </Section>
  );
}

function SigningSecret() {
  const gates = usePlanGates();
  const confirm = useConfirm();
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const gate = gates.gate({ feature: 'signed_urls' });

  const rotate = async () => {
    const ok = await confirm({
      title: 'Rotate the signing secret?',
      message: 'A new secret is created. URLs signed with the current one stop working at once, on every page that uses them.',
      confirmLabel: 'Rotate secret',
    });
    if (!ok) return;
    setBusy(true);
    setError(null);
    try {
      const r = await call(api.POST('/api/v1/customer/signing-secret/rotate', {}));
      setSecret(r.signing_secret);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Section id="signing" title="URL signing secret" description="Your servers sign delivery URLs with it (HMAC-SHA256); the dashboard asks the API to sign for you.">
      {secret && <SecretOnce id="signing-secret" title="Your new signing secret" label="Signing secret" secret={secret} onDone={() => setSecret(null)} />}
      <InlineError error={error} />
      <div className="row">
        <button type="button" className="btn btn-danger-outline" onClick={rotate} disabled={busy || Boolean(gate)}>
          {busy ? 'Rotating…' : 'Rotate signing secret'}
        </button>
        <GateNote message={gate} />
      </div>
    </Section>
  );
}

function Purge() {
  const confirm = useConfirm();
  const toast = useToast();
  const [mode, setMode] = useState<'paths' | 'prefix' | 'all'>('paths');
  const [paths, setPaths] = useState('');
  const [prefix, setPrefix] = useState('');
  const [local, setLocal] = useState<string>();
  const purge = useMutation({
    mutationFn: (body: { paths: string[] } | { prefix: string } | { all: true }) => call(api.POST('/api/v1/purge', { body })),
    onSuccess: (r) => {
      toast(r.purged === 'paths' ? `Purge accepted for ${r.paths ?? 0} path(s)` : r.purged === 'prefix' ? 'Purge of the prefix accepted' : 'Purge of everything accepted');
      setPaths('');
      setPrefix('');
    },
  });

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setLocal(undefined);
    let body: { paths: string[] } | { prefix: string } | { all: true };
    let what: ReactNode;
    if (mode === 'paths') {
      const list = paths.split('\n').map((p) => p.trim().replace(/^\/+/, '')).filter(Boolean);
      const bad = list.map((p) => [p, validateImagePath(p)] as const).find(([, err]) => err);
      if (list.length === 0) return setLocal('Enter at least one path, one per line.');
      if (list.length > 1000) return setLocal('At most 1000 paths at once.');
      if (bad) return setLocal(`${bad[0]}: ${bad[1]}`);
      body = { paths: list };
      what = `${list.length} image path${list.length > 1 ? 's' : ''}`;
    } else if (mode === 'prefix') {
      if (!prefix.trim()) return setLocal('Enter a prefix, e.g. products/.');
      body = { prefix: prefix.trim() };
      what = <>every image under <code>{prefix.trim()}</code></>;
    } else {
      body = { all: true };
      what = 'every image of your account';
    }
    const ok = await confirm({
      title: 'Purge cached images?',
      message: <>The cached sizes and formats of {what} are dropped; the next requests make them again (slower, and they count as transforms). Originals are kept.</>,
      confirmLabel: 'Purge',
    });
    if (ok) purge.mutate(body);
  };
  const { fields } = errorsOf(purge.error);

  return (
    <Section id="purge" title="Purge the cache" description="After replacing images elsewhere, or to force new variants. Uploads and deletes through the API purge by themselves.">
      <form onSubmit={submit} noValidate>
        <fieldset className="fieldset">
          <legend>What to purge</legend>
          <div className="segmented">
            {(['paths', 'prefix', 'all'] as const).map((m) => (
              <label key={m}>
                <input type="radio" name="purge-mode" value={m} checked={mode === m} onChange={() => { setMode(m); setLocal(undefined); }} />
                {m === 'paths' ? 'Paths' : m === 'prefix' ? 'Prefix' : 'Everything'}
              </label>
            ))}
          </div>
        </fieldset>
        <div style={{ marginTop: '1rem' }}>
          {mode === 'paths' && (
            <TextAreaField label="Image paths, one per line" value={paths} onChange={(e) => setPaths(e.target.value)} placeholder={'products/shoe.jpg\nbanners/home.png'} error={local ?? fields.paths} />
          )}
          {mode === 'prefix' && (
            <TextField label="Path prefix" value={prefix} onChange={(e) => setPrefix(e.target.value)} placeholder="products/" error={local ?? fields.prefix} />
          )}
          {mode === 'all' && <p className="muted">Every cached variant of every image is dropped.</p>}
        </div>
        {purge.isError && !Object.keys(fields).length && <div style={{ marginTop: '1rem' }}><InlineError error={purge.error} /></div>}
        <div className="form-actions">
          <button type="submit" className="btn btn-danger" disabled={purge.isPending}>{purge.isPending ? 'Purging…' : 'Purge'}</button>
        </div>
      </form>
    </Section>
  );
}

export default function Settings() {
  const customer = useCustomer();
  if (customer.isPending) return <Loading />;
  if (customer.isError) return <ErrorState error={customer.error} onRetry={() => customer.refetch()} />;
  const c = customer.data;
  return (
    <>
      <PageHeader title="Settings" description="Changes reach every edge node within a second." />
      <div className="stack" style={{ gap: '1.25rem' }}>
        <DeliveryDefaults customer={c} />
        <Access customer={c} />
        <CustomDomains customer={c} />
        <Presets />
        <SigningSecret />
        <Purge />
      </div>
    </>
  );
}
