import { KeyStatus } from "@latchkey/client/web";
import { useState } from "preact/hooks";
import { href } from "../router.js";
import type { Session } from "../session.js";
import { ActionForm, Field, formatTime, Pager, Refusal, SecretOnce, Section, Table, useAction, useLoad, usePages, Input } from "../ui.js";

export const statusName = (status: KeyStatus) => (KeyStatus[status] ?? "UNSPECIFIED").toLowerCase();

/** A keyspace's keys: searched, filtered by status and external id, paged; and a form to create one. */
export function Keys({ session, keyspaceId }: { session: Session; keyspaceId: string }) {
  const keyspace = useLoad(() => session.api.keyspaces.getKeyspace({ id: keyspaceId }), [keyspaceId]);
  const [status, setStatus] = useState<KeyStatus>(KeyStatus.UNSPECIFIED);
  const [externalId, setExternalId] = useState("");
  const [search, setSearch] = useState("");
  const pager = usePages();
  const list = useLoad(() => session.api.keys.listKeys({ keyspaceId, status, externalId, pageSize: 50, pageToken: pager.token }), [keyspaceId, status, externalId, pager.token]);
  const needle = search.trim().toLowerCase();
  const shown = (list.data?.keys ?? []).filter((key) => !needle || [key.id, key.name, key.start, key.externalId, key.ownerId].some((field) => field.toLowerCase().includes(needle)));
  return (
    <>
      <p class="crumbs">
        <a href={href("keyspaces")}>Keyspaces</a> / {keyspace.data?.keyspace?.name ?? keyspaceId}
      </p>
      <h1>Keys of {keyspace.data?.keyspace?.name ?? keyspaceId}</h1>
      <Refusal error={keyspace.error} />
      {session.may("key.create") && !keyspace.error ? <CreateKey session={session} keyspaceId={keyspaceId} created={list.reload} /> : null}
      <Section title="Keys" hidden={Boolean(keyspace.error)}>
        <div class="form-row">
          <Field label="Search this page">
            <input type="search" name="key-search" value={search} onInput={(event) => setSearch(event.currentTarget.value)} />
          </Field>
          <Field label="Status">
            <select
              name="key-status"
              value={String(status)}
              onChange={(event) => {
                setStatus(Number(event.currentTarget.value) as KeyStatus);
                pager.reset();
              }}
            >
              <option value={String(KeyStatus.UNSPECIFIED)}>any</option>
              {[KeyStatus.ACTIVE, KeyStatus.DISABLED, KeyStatus.EXPIRED, KeyStatus.REVOKED].map((value) => (
                <option value={String(value)}>{statusName(value)}</option>
              ))}
            </select>
          </Field>
          <Field label="External id">
            <input
              name="key-external-id"
              value={externalId}
              onChange={(event) => {
                setExternalId(event.currentTarget.value.trim());
                pager.reset();
              }}
            />
          </Field>
        </div>
        <Refusal error={list.error} />
        <Table
          label="Keys"
          head={["Name", "Start", "Status", "Credits", "Last used", "Created"]}
          empty="No keys match."
          rows={shown.map((key) => [
            <a href={href("keys", key.id)}>{key.name || key.id}</a>,
            <code>{key.start}</code>,
            <span class={`status status-${statusName(key.status)}`}>{statusName(key.status)}</span>,
            key.credits ? String(key.credits.remaining) : "unlimited",
            formatTime(key.lastUsedAt),
            formatTime(key.createdAt),
          ])}
        />
        <Pager pager={pager} nextToken={list.data?.nextPageToken} />
      </Section>
    </>
  );
}

function CreateKey({ session, keyspaceId, created }: { session: Session; keyspaceId: string; created(): void }) {
  const [name, setName] = useState("");
  const [externalId, setExternalId] = useState("");
  const [credits, setCredits] = useState("");
  const [secret, setSecret] = useState<string>();
  const create = useAction();
  const submit = async () => {
    const answer = await create.run(() =>
      session.api.keys.createKey({
        key: { keyspaceId, name, externalId, credits: credits === "" ? undefined : { remaining: BigInt(credits) } },
        requestId: crypto.randomUUID(),
      }),
    );
    if (answer) {
      setSecret(answer.secret);
      setName("");
      setExternalId("");
      setCredits("");
      created();
    }
  };
  return (
    <Section title="Create a key">
      <ActionForm action={create} label="Create key" submit={submit}>
        <Input label="Name" name="key-name" value={name} onValue={setName} />
        <Input label="External id" hint="Optional: the identity it belongs to" name="key-new-external-id" value={externalId} onValue={setExternalId} />
        <Input label="Credits" hint="Empty: unlimited" name="key-credits" type="number" min="0" inputMode="numeric" value={credits} onValue={setCredits} />
      </ActionForm>
      {secret ? <SecretOnce secret={secret} label="The new key's secret." /> : null}
    </Section>
  );
}
