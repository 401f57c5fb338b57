// End-to-end tests of the TypeScript client against a real contactsd. The
// binary comes from CONTACTSD_BIN (.ci/run sets it), or is built with
// `go build` into a temporary folder.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";

import type { MessageInitShape } from "@bufbuild/protobuf";

import {
  Code,
  ConnectError,
  ERROR_DOMAIN,
  ContactsService,
  ErrorInfoSchema,
  JobTitle,
  OperationSchema,
  Operations,
  PhoneTechType,
  ProfileType,
  connect,
  details,
  type ContactSchema,
  type ContactsClient,
} from "../src/index.js";
import type { Interceptor } from "@connectrpc/connect";

// dist/test/ → clients/ts
const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const repoRoot = path.resolve(packageRoot, "../..");

const tmpDir = mkdtempSync(path.join(os.tmpdir(), "contacts-ts-test-"));
const servers: Contactsd[] = [];
let binary: string;
let server: Contactsd;
let client: ContactsClient;

function contactsdBinary(): string {
  if (process.env.CONTACTSD_BIN) return process.env.CONTACTSD_BIN;
  const bin = path.join(tmpDir, "contactsd");
  const built = spawnSync("go", ["build", "-o", bin, "./cmd/contactsd"], { cwd: repoRoot, encoding: "utf8" });
  if (built.error) throw new Error(`go build: ${built.error.message} (set CONTACTSD_BIN to a built contactsd instead)`);
  if (built.status !== 0) throw new Error(`go build ./cmd/contactsd failed:\n${built.stderr}`);
  return bin;
}

interface Contactsd {
  proc: ChildProcess;
  address: string;
  log: string[];
}

// startContactsd starts contactsd on a free port and resolves once it logs
// that it serves; it rejects if the process ends first.
function startContactsd(args: string[] = [], env: Record<string, string> = {}): Promise<Contactsd> {
  const proc = spawn(binary, ["-listen", "127.0.0.1:0", "-upstream", "emulator", ...args], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, ...env },
  });
  const log: string[] = [];
  const lines = readline.createInterface({ input: proc.stderr! });
  return new Promise((resolve, reject) => {
    proc.once("error", reject);
    proc.once("exit", (code, signal) => reject(new Error(`contactsd exited (${code ?? signal}) before serving:\n${log.join("\n")}`)));
    lines.on("line", (line) => {
      log.push(line);
      const m = /msg="serving contacts\.v1\.ContactsService".* listen=(\S+)/.exec(line);
      if (m) {
        const s = { proc, address: m[1], log };
        servers.push(s);
        resolve(s);
      }
    });
  });
}

async function stop(s: Contactsd): Promise<void> {
  if (s.proc.exitCode !== null || s.proc.signalCode !== null) return;
  const exited = once(s.proc, "exit");
  s.proc.kill("SIGTERM");
  const [code, signal] = await exited;
  assert.equal(code, 0, `contactsd exit ${code ?? signal} after SIGTERM:\n${s.log.join("\n")}`);
}

type ContactInit = MessageInitShape<typeof ContactSchema>;

// contact is a valid GENERAL contact, with the fields given changed.
function contact(o: { profiles?: ProfileType[]; name?: string; languageCode?: string; phones?: ContactInit["phones"]; email?: string } = {}): ContactInit {
  return {
    profiles: o.profiles ?? [ProfileType.GENERAL],
    contactPerson: { name: o.name ?? "Eva Bakker", languageCode: o.languageCode ?? "nl", jobTitle: JobTitle.OWNER },
    phones: o.phones ?? [{ phoneNumber: "+31201112233", phoneTechType: PhoneTechType.MOBILE }],
    email: o.email ?? "eva.bakker@example.com",
  };
}

// rejection awaits a call that must fail and returns its error.
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail("the call succeeded; want an error");
}

before(async () => {
  binary = contactsdBinary();
  server = await startContactsd();
  client = connect(server.address, { insecure: true, defaultTimeoutMs: 10_000 });
}, { timeout: 180_000 });

after(async () => {
  for (const s of servers) await stop(s);
  rmSync(tmpDir, { recursive: true, force: true });
});

describe("contacts.v1.ContactsService from TypeScript", () => {
  test("ListContacts on the demo property returns its 2 contacts", async () => {
    const resp = await client.listContacts({ propertyId: "1000001" });
    assert.deepEqual(resp.contacts.map((c) => c.contactPerson?.name), ["Anna de Vries", "Jan Jansen"]);
    assert.deepEqual(resp.contacts[0].profiles, [ProfileType.GENERAL, ProfileType.INVOICES]);
    assert.equal(resp.contacts[0].phones[0].phoneTechType, PhoneTechType.LANDLINE);
    assert.match(resp.requestId, /^\S+$/);
  });

  test("an invalid ReplaceContacts is INVALID_ARGUMENT with ErrorInfo and BadRequest", async () => {
    const err = await rejection(
      client.replaceContacts({ propertyId: "1000001", contacts: [contact({ phones: [], email: "not-an-email" })] }),
    );
    assert.ok(err instanceof ConnectError);
    const d = details(err);
    assert.equal(d.code, Code.InvalidArgument);
    assert.equal(d.errorInfo?.domain, ERROR_DOMAIN);
    assert.equal(d.reason, "REQUIRED_FIELD_MISSING");
    assert.equal(d.otaCode, "321");
    assert.equal(d.errorInfo?.metadata["otaCodes"], "321,320");
    assert.equal(d.errorInfo?.metadata["propertyId"], "1000001");
    assert.deepEqual(d.fieldViolations.map((v) => v.field), ["contacts[0].phones", "contacts[0].email"]);
    assert.deepEqual(d.fieldViolations.map((v) => v.reason), ["REQUIRED_FIELD_MISSING", "INVALID_VALUE"]);
    assert.ok(d.fieldViolations.every((v) => v.description !== ""), "every violation says what is wrong");
    assert.match(d.help?.links[0].url ?? "", /^https:\/\//);
    assert.equal(d.retryInfo, undefined);
    assert.equal(d.retryDelayMs, undefined);
  });

  test("an unknown property is NOT_FOUND with OTA 635 and ResourceInfo", async () => {
    const d = details(await rejection(client.listContacts({ propertyId: "9999999" })));
    assert.equal(d.code, Code.NotFound);
    assert.equal(d.reason, "NOT_FOUND");
    assert.equal(d.otaCode, "635");
    assert.equal(d.errorInfo?.metadata["httpStatus"], "404");
    assert.equal(d.errorInfo?.metadata["source"], "upstream");
    assert.equal(d.resourceInfo?.resourceType, "booking.com/Property");
    assert.equal(d.resourceInfo?.resourceName, "properties/9999999");
    assert.equal(d.requestInfo?.requestId, d.errorInfo?.metadata["requestId"]);
    assert.deepEqual(d.fieldViolations, []);
  });

  test("CreateContacts, then ReplaceContacts overlays, then CreateContacts again is ALREADY_EXISTS", async () => {
    const created = await client.createContacts({ propertyId: "1000003", contacts: [contact()] });
    assert.match(created.requestId, /^\S+$/);
    const second = contact({
      profiles: [ProfileType.RESERVATIONS],
      name: "Piet Smit",
      languageCode: "en-gb",
      email: "piet.smit@example.com",
    });
    await client.replaceContacts({ propertyId: "1000003", contacts: [contact(), second] });
    const listed = await client.listContacts({ propertyId: "1000003" });
    assert.deepEqual(listed.contacts.map((c) => c.contactPerson?.name), ["Eva Bakker", "Piet Smit"]);

    const d = details(await rejection(client.createContacts({ propertyId: "1000003", contacts: [contact()] })));
    assert.equal(d.code, Code.AlreadyExists);
    assert.equal(d.reason, "CHANGES_NOT_PERMITTED");
    assert.equal(d.otaCode, "150");
    assert.equal(d.resourceInfo?.resourceName, "properties/1000003/contacts");
  });

  test("a dry run (validateOnly) shows what ReplaceContacts would delete, and writes nothing", async () => {
    const before = await client.listContacts({ propertyId: "1000001" });
    const dry = await client.replaceContacts({ propertyId: "1000001", contacts: [contact()], validateOnly: true });
    assert.deepEqual(dry.deletedContacts.map((c) => c.contactPerson?.name), ["Anna de Vries", "Jan Jansen"]);
    assert.deepEqual(dry.contacts.map((c) => c.contactPerson?.name), ["Eva Bakker"]);
    assert.equal(dry.etag, before.etag);
    const after = await client.listContacts({ propertyId: "1000001" });
    assert.equal(after.etag, before.etag);
  });

  test("a rate-limited upstream gives RetryInfo", async () => {
    const upstream = http.createServer((_req, res) => {
      res.writeHead(429, { "Retry-After": "7", "Content-Type": "text/plain" });
      res.end("slow down\n");
    });
    upstream.listen(0, "127.0.0.1");
    await once(upstream, "listening");
    try {
      const { port } = upstream.address() as AddressInfo;
      const limited = await startContactsd(["-upstream", `http://127.0.0.1:${port}`, "-auth", "static"], {
        CONTACTS_API_TOKEN: "test-token",
      });
      const c = connect(limited.address, { insecure: true, defaultTimeoutMs: 10_000 });
      const d = details(await rejection(c.listContacts({ propertyId: "1000001" })));
      await stop(limited);
      assert.equal(d.code, Code.ResourceExhausted);
      assert.equal(d.reason, "RATE_LIMITED");
      assert.equal(d.retryInfo?.retryDelay?.seconds, 7n);
      assert.equal(d.retryDelayMs, 7_000);
    } finally {
      upstream.closeAllConnections();
      upstream.close();
    }
  });

  test("listContacts is retried on Unavailable, 3 attempts; replaceContacts is not", async () => {
    // Runs inside the retry (options.interceptors come after it): the first
    // two sends of each call fail as a lost connection would.
    let sends = 0;
    const flaky: Interceptor = (next) => async (req) => {
      sends++;
      if (sends <= 2) throw new ConnectError("connection lost", Code.Unavailable);
      return next(req);
    };
    const c = connect(server.address, { insecure: true, defaultTimeoutMs: 10_000, interceptors: [flaky] });
    const resp = await c.listContacts({ propertyId: "1000001" });
    assert.equal(sends, 3);
    assert.equal(resp.contacts.length, 2);

    sends = 0;
    const d = details(await rejection(c.replaceContacts({ propertyId: "1000001", contacts: [contact()] })));
    assert.equal(sends, 1, "ReplaceContacts is never sent again");
    assert.equal(d.code, Code.Unavailable);
  });

  test("an error without details (no server) gives its code alone", async () => {
    const nowhere = connect("127.0.0.1:1", { insecure: true, defaultTimeoutMs: 5_000 });
    const d = details(await rejection(nowhere.replaceContacts({ propertyId: "1000001", contacts: [contact()] })));
    assert.equal(d.code, Code.Unavailable);
    assert.equal(d.errorInfo, undefined);
    assert.equal(d.otaCode, "");
    assert.deepEqual(d.fieldViolations, []);
  });
});

describe("details() on what the facade does not send", () => {
  test("not a ConnectError: Unknown, no details", () => {
    const d = details(new Error("boom"));
    assert.equal(d.code, Code.Unknown);
    assert.equal(d.errorInfo, undefined);
  });

  test("the first detail of a type wins", () => {
    const err = new ConnectError("x", Code.Internal, undefined, [
      { desc: ErrorInfoSchema, value: { reason: "FIRST" } },
      { desc: ErrorInfoSchema, value: { reason: "SECOND" } },
    ]);
    assert.equal(details(err).reason, "FIRST");
  });
});

describe("long-running operations", () => {
  test("the bulk RPCs return a google.longrunning.Operation, which the exported Operations service follows", () => {
    for (const name of ["bulkEditProfile", "applyContactsTemplate", "revertBulkEdit"] as const) {
      assert.equal(ContactsService.method[name].output.typeName, OperationSchema.typeName, name);
    }
    assert.equal(Operations.typeName, "google.longrunning.Operations");
    assert.deepEqual(
      Operations.methods.map((m) => m.name),
      ["ListOperations", "GetOperation", "DeleteOperation", "CancelOperation", "WaitOperation"],
    );
  });
});

describe("README", () => {
  // The README's steps: npm pack here, npm install of the tarball in a
  // project outside the repository, then example.ts (which the README
  // quotes) compiled and run there.
  test("example.ts runs in a project of its own, from the packed tarball", { timeout: 240_000 }, () => {
    const run = (cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) => {
      const r = spawnSync(cmd, args, { cwd, encoding: "utf8", env: { ...process.env, ...env } });
      assert.equal(r.status, 0, `${cmd} ${args.join(" ")}:\n${r.stdout}\n${r.stderr}`);
      return r.stdout;
    };
    const packDir = path.join(tmpDir, "pack");
    const project = path.join(tmpDir, "project");
    for (const d of [packDir, project]) rmSync(d, { recursive: true, force: true });
    run("mkdir", ["-p", packDir, project], tmpDir);
    run("npm", ["pack", "--silent", "--pack-destination", packDir], packageRoot);
    const [tarball] = readdirSync(packDir).filter((f) => f.endsWith(".tgz"));
    assert.ok(tarball, "npm pack wrote no tarball");

    writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "example", private: true, type: "module" }));
    writeFileSync(
      path.join(project, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, skipLibCheck: true, types: ["node"] } }),
    );
    copyFileSync(path.join(packageRoot, "example.ts"), path.join(project, "example.ts"));
    run("npm", ["install", "--no-audit", "--no-fund", path.join(packDir, tarball), "typescript@5.9.3", "@types/node@20"], project);
    run("npx", ["tsc", "-p", "."], project);
    const out = run("node", ["example.js"], project, { CONTACTS_ADDR: server.address });
    assert.equal(
      out,
      [
        "Anna de Vries [ 'GENERAL', 'INVOICES' ]",
        "Jan Jansen [ 'RESERVATIONS', 'AVAILABILITY' ]",
        "InvalidArgument REQUIRED_FIELD_MISSING OTA 321",
        "fix contacts[0].profiles REQUIRED_FIELD_MISSING",
        "fix contacts[0].contact_person REQUIRED_FIELD_MISSING",
        "fix contacts[0].phones REQUIRED_FIELD_MISSING",
        "fix contacts[0].email INVALID_VALUE",
        "fix contacts REQUIRED_FIELD_MISSING",
        "",
      ].join("\n"),
    );
  });
});
