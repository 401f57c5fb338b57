// A small Node.js client of contacts.v1.ContactsService (contacts-facade).
//
// The service is loaded at run time from the repository's proto/ folder with
// @grpc/proto-loader, so there is no generated code to keep in step. Errors
// of the facade carry a google.rpc.Status in the grpc-status-details-bin
// trailer, which @grpc/grpc-js leaves undecoded: decodeStatusDetails turns
// it into plain objects (ErrorInfo, BadRequest, RetryInfo, ...), using the
// google/rpc definitions shipped by the google-proto-files package.
//
//   import { makeClient, decodeStatusDetails } from './client.js';
//   const client = makeClient('localhost:50051', { insecure: true });
//   try {
//     const { contacts } = await client.listContacts({ propertyId: '1000001' });
//   } catch (err) {
//     const { errorInfo, badRequest } = decodeStatusDetails(err);
//   }
//   client.close();
//
// Field names are lowerCamelCase (propertyId, contactPerson, phoneTechType),
// enums are their names as strings ('PROFILE_TYPE_GENERAL').

import path from 'node:path';
import { fileURLToPath } from 'node:url';

import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { getProtoPath } from 'google-proto-files';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The proto/ folder of the repository, the include path of contacts.v1. */
export const PROTO_ROOT = path.resolve(here, '../../proto');

/** The full name of the service. */
export const SERVICE_NAME = 'contacts.v1.ContactsService';

/** ErrorInfo.domain of every error of the facade. */
export const ERROR_DOMAIN = 'contacts-facade.booking.connectivity';

/** The gRPC status codes, by name (grpc.status.INVALID_ARGUMENT === 3). */
export const status = grpc.status;

const packageDefinition = protoLoader.loadSync('contacts/v1/contacts.proto', {
  includeDirs: [PROTO_ROOT],
  keepCase: false, // property_id is propertyId
  enums: String, // enums are their names
  longs: String,
  defaults: true, // repeated fields are [] and strings '' when not set
  oneofs: true,
});
const contactsv1 = grpc.loadPackageDefinition(packageDefinition).contacts.v1;

// Retry ListContacts, and only it (it is the one idempotent call), when the
// answer is UNAVAILABLE; never wait for a connection that is down. This is
// the same policy as the Go client package.
const defaultServiceConfig = {
  methodConfig: [
    {
      name: [{ service: SERVICE_NAME }],
      waitForReady: false,
    },
    {
      name: [{ service: SERVICE_NAME, method: 'ListContacts' }],
      waitForReady: false,
      retryPolicy: {
        maxAttempts: 3,
        initialBackoff: '0.2s',
        maxBackoff: '2s',
        backoffMultiplier: 2,
        retryableStatusCodes: ['UNAVAILABLE'],
      },
    },
  ],
};

/** Deadline of a call made without timeoutMs, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * makeClient connects to the facade at address (host:port).
 *
 * TLS with the system roots is the default; pass { insecure: true } for a
 * plaintext local server, or { credentials } for your own (mTLS, ...).
 * channelOptions are passed to @grpc/grpc-js as they are.
 *
 * Each method takes the request object and { timeoutMs, metadata } and
 * returns a promise of the response; a failed call rejects with the
 * @grpc/grpc-js ServiceError (err.code, err.details, err.metadata), which
 * decodeStatusDetails reads.
 */
export function makeClient(address, { insecure = false, credentials, channelOptions = {} } = {}) {
  const creds = credentials ?? (insecure ? grpc.credentials.createInsecure() : grpc.credentials.createSsl());
  const raw = new contactsv1.ContactsService(address, creds, {
    'grpc.service_config': JSON.stringify(defaultServiceConfig),
    ...channelOptions,
  });
  const call = (method) => (request, { timeoutMs = DEFAULT_TIMEOUT_MS, metadata = new grpc.Metadata() } = {}) =>
    new Promise((resolve, reject) => {
      raw[method](request, metadata, { deadline: Date.now() + timeoutMs }, (err, response) => {
        if (err) reject(err);
        else resolve(response);
      });
    });
  return {
    /** ListContacts({ propertyId, noLanguageFallback }) → { contacts, warnings, requestId } */
    listContacts: call('ListContacts'),
    /** ReplaceContacts({ propertyId, contacts }): every contact not sent is DELETED. */
    replaceContacts: call('ReplaceContacts'),
    /** CreateContacts({ propertyId, contacts }) for a property with no contacts yet. */
    createContacts: call('CreateContacts'),
    /** The @grpc/grpc-js client, for what the helpers above do not cover. */
    raw,
    /** close closes the channel. */
    close: () => raw.close(),
  };
}

// The google.rpc messages, from google-proto-files. protobufjs brings the
// google/protobuf ones (Any, Duration) itself.
const rpcRoot = protobuf.loadSync([getProtoPath('rpc', 'status.proto'), getProtoPath('rpc', 'error_details.proto')]);
const StatusType = rpcRoot.lookupType('google.rpc.Status');
const toObjectOptions = { longs: Number, enums: String, defaults: true, arrays: true, objects: true };

/**
 * decodeStatusDetails reads the google.rpc.Status of a failed call.
 *
 * It returns { code, message, details, errorInfo, badRequest, retryInfo,
 * resourceInfo, requestInfo, help, quotaFailure, preconditionFailure,
 * debugInfo, localizedMessage, otaCode, fieldViolations, retryDelayMs }:
 *   - details: every detail as a plain object with its '@type' (type URL),
 *     in the order sent; a type not in google/rpc keeps its bytes in value;
 *   - errorInfo, badRequest, ...: the detail of that type (the facade sends
 *     each type at most once), undefined when absent;
 *   - otaCode: errorInfo.metadata.otaCode, '' when absent;
 *   - fieldViolations: badRequest.fieldViolations, [] when absent;
 *   - retryDelayMs: retryInfo.retryDelay in milliseconds, undefined when absent.
 * An error without the trailer (e.g. a connection failure) gives its code
 * and message and no details.
 */
export function decodeStatusDetails(err) {
  const out = {
    code: err?.code ?? grpc.status.UNKNOWN,
    message: err?.details ?? String(err?.message ?? ''),
    details: [],
  };
  const bin = err?.metadata?.get?.('grpc-status-details-bin')?.[0];
  if (bin) {
    const st = StatusType.decode(typeof bin === 'string' ? Buffer.from(bin, 'base64') : bin);
    out.code = st.code;
    out.message = st.message;
    for (const any of st.details) {
      // protobufjs's bundled google/protobuf/any.proto keeps the proto
      // field name type_url; a camelCase build would say typeUrl.
      const typeUrl = any.type_url ?? any.typeUrl;
      const typeName = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
      const type = typeName.startsWith('google.rpc.') ? rpcRoot.lookup(typeName) : null;
      if (!(type instanceof protobuf.Type)) {
        out.details.push({ '@type': typeUrl, value: Buffer.from(any.value) });
        continue;
      }
      const detail = type.toObject(type.decode(any.value), toObjectOptions);
      out.details.push({ '@type': typeUrl, ...detail });
      const key = type.name[0].toLowerCase() + type.name.slice(1);
      out[key] ??= detail;
    }
  }
  out.otaCode = out.errorInfo?.metadata?.otaCode ?? '';
  out.fieldViolations = out.badRequest?.fieldViolations ?? [];
  const delay = out.retryInfo?.retryDelay;
  if (delay) out.retryDelayMs = Number(delay.seconds) * 1000 + Math.round(delay.nanos / 1e6);
  return out;
}
