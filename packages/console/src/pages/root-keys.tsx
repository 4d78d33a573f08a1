import { useState } from "preact/hooks";
import { MANAGEMENT_PERMISSIONS, type Session } from "../session.js";
import { formatTime, Pager, Refusal, SecretOnce, Section, Table, useAction, useLoad, usePages, Input } from "../ui.js";

/** Root keys: created narrowed (a permission picker and keyspaces), rotated with a grace period, revoked. */
export function RootKeys({ session }: { session: Session }) {
  const pager = usePages();
  const list = useLoad(() => session.api.rootKeys.listRootKeys({ pageSize: 50, pageToken: pager.token }), [pager.token]);
  const keyspaces = useLoad(() => (session.may("keyspace.read") ? session.api.keyspaces.listKeyspaces({ pageSize: 100 }) : Promise.resolve(undefined)), []);
  const [name, setName] = useState("");
  const [permissions, setPermissions] = useState<string[]>([]);
  const [keyspaceIds, setKeyspaceIds] = useState<string[]>([]);
  const [secret, setSecret] = useState<{ label: string; secret: string }>();
  const create = useAction();
  const change = useAction();
  // A root key can grant only what it holds.
  const grantable = MANAGEMENT_PERMISSIONS.filter((permission) => session.may(permission));
  const toggle = (list: string[], item: string, on: boolean) => (on ? [...list, item] : list.filter((other) => other !== item));
  return (
    <>
      <h1>Root keys</h1>
      <Section title="Create a root key">
        <form
          onSubmit={async (event) => {
            event.preventDefault();
            const answer = await create.run(() => session.api.rootKeys.createRootKey({ rootKey: { name, permissions, keyspaceIds }, requestId: crypto.randomUUID() }));
            if (answer) {
              setSecret({ label: `The secret of root key ${answer.rootKey?.name}.`, secret: answer.secret });
              setName("");
              setPermissions([]);
              setKeyspaceIds([]);
              list.reload();
            }
          }}
        >
          <Input label="Name" name="root-key-name" required value={name} onValue={setName} />
          <fieldset class="picker">
            <legend>Permissions</legend>
            {grantable.map((permission) => (
              <label class="check">
                <input type="checkbox" name="root-key-permission" value={permission} checked={permissions.includes(permission)} onChange={(event) => setPermissions(toggle(permissions, permission, event.currentTarget.checked))} />
                {permission}
              </label>
            ))}
          </fieldset>
          <fieldset class="picker">
            <legend>Only these keyspaces (none checked: every keyspace)</legend>
            {(keyspaces.data?.keyspaces ?? []).map((keyspace) => (
              <label class="check">
                <input type="checkbox" name="root-key-keyspace" value={keyspace.id} checked={keyspaceIds.includes(keyspace.id)} onChange={(event) => setKeyspaceIds(toggle(keyspaceIds, keyspace.id, event.currentTarget.checked))} />
                {keyspace.name}
              </label>
            ))}
          </fieldset>
          <button type="submit" disabled={create.busy || permissions.length === 0}>
            Create root key
          </button>
        </form>
        <Refusal error={create.error} />
      </Section>
      {secret ? <SecretOnce secret={secret.secret} label={secret.label} /> : null}
      <Section title="Root keys">
        <Refusal error={list.error ?? change.error} />
        <Table
          label="Root keys"
          head={["Name", "Start", "Permissions", "Keyspaces", "Created", ""]}
          empty="No root keys."
          rows={(list.data?.rootKeys ?? []).map((rootKey) => [
            rootKey.name,
            <code>{rootKey.start}</code>,
            rootKey.permissions.join(", "),
            rootKey.keyspaceIds.join(", ") || "every",
            formatTime(rootKey.createdAt),
            rootKey.revokedAt ? (
              <>revoked {formatTime(rootKey.revokedAt)}</>
            ) : (
              <span class="row-actions">
                <button
                  type="button"
                  aria-label={`Rotate root key ${rootKey.name}`}
                  disabled={change.busy}
                  onClick={async () => {
                    const answer = await change.run(() => session.api.rootKeys.rotateRootKey({ id: rootKey.id, gracePeriodMs: 3600_000n }));
                    if (answer) {
                      setSecret({ label: `The new secret of root key ${rootKey.name}; the old one works for another hour.`, secret: answer.secret });
                      list.reload();
                    }
                  }}
                >
                  Rotate
                </button>
                <button
                  type="button"
                  class="danger"
                  aria-label={`Revoke root key ${rootKey.name}`}
                  disabled={change.busy}
                  onClick={async () => {
                    if (confirm(`Revoke root key ${rootKey.name}?`) && (await change.run(() => session.api.rootKeys.revokeRootKey({ id: rootKey.id })))) list.reload();
                  }}
                >
                  Revoke
                </button>
              </span>
            ),
          ])}
        />
        <Pager pager={pager} nextToken={list.data?.nextPageToken} />
      </Section>
    </>
  );
}
