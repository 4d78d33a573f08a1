import { useState } from "preact/hooks";
import type { Session } from "../session.js";
import { ActionForm, formatTime, Pager, Refusal, Section, Table, useAction, useLoad, usePages, Input } from "../ui.js";

export function Identities({ session }: { session: Session }) {
  const pager = usePages();
  const list = useLoad(() => session.api.identities.listIdentities({ pageSize: 50, pageToken: pager.token }), [pager.token]);
  const [externalId, setExternalId] = useState("");
  const create = useAction();
  const remove = useAction();
  return (
    <>
      <h1>Identities</h1>
      {session.may("identity.create") ? (
        <Section title="Create an identity">
          <ActionForm
            action={create}
            label="Create identity"
            submit={async () => {
              if (await create.run(() => session.api.identities.createIdentity({ identity: { externalId }, requestId: crypto.randomUUID() }))) {
                setExternalId("");
                list.reload();
              }
            }}
          >
            <Input label="External id" name="identity-external-id" required value={externalId} onValue={setExternalId} />
          </ActionForm>
        </Section>
      ) : null}
      <Section title="Identities">
        <Refusal error={list.error ?? remove.error} />
        <Table
          label="Identities"
          head={["External id", "Id", "Rate limits", "Created", ""]}
          empty="No identities."
          rows={(list.data?.identities ?? []).map((identity) => [
            identity.externalId,
            <code>{identity.id}</code>,
            identity.rateLimits.map((limit) => `${limit.name}: ${limit.limit} per ${Number(limit.durationMs) / 1000} s`).join(", ") || "—",
            formatTime(identity.createdAt),
            session.may("identity.delete") ? (
              <button
                type="button"
                class="danger"
                aria-label={`Delete identity ${identity.externalId}`}
                disabled={remove.busy}
                onClick={async () => {
                  if (confirm(`Delete identity ${identity.externalId}?`) && (await remove.run(() => session.api.identities.deleteIdentity({ id: identity.id })))) list.reload();
                }}
              >
                Delete
              </button>
            ) : (
              ""
            ),
          ])}
        />
        <Pager pager={pager} nextToken={list.data?.nextPageToken} />
      </Section>
    </>
  );
}
