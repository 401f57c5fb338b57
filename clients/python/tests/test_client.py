"""End-to-end tests of the Python client against a real contactsd.

The binary comes from CONTACTSD_BIN (.ci/run sets it), or is built with
`go build` into a temporary folder. Run from clients/python:

    CONTACTSD_BIN=/path/to/contactsd /usr/bin/python3 -m unittest -v
"""

import datetime
import http.server
import os
import pathlib
import queue
import re
import subprocess
import sys
import tempfile
import threading
import unittest

import grpc
from google.protobuf import any_pb2

import contacts_facade
from contacts.v1 import contacts_pb2 as pb
from contacts.v1 import contacts_pb2_grpc
from google.rpc import error_details_pb2, status_pb2

HERE = pathlib.Path(__file__).resolve().parent
PACKAGE_ROOT = HERE.parent  # clients/python: what PYTHONPATH names
REPO_ROOT = PACKAGE_ROOT.parent.parent
TIMEOUT = 10  # seconds, per call: a bound on a hang
SERVING = re.compile(r'msg="serving contacts\.v1\.ContactsService".* listen=(\S+)')


def contactsd_binary(tmp):
    if os.environ.get("CONTACTSD_BIN"):
        return os.environ["CONTACTSD_BIN"]
    out = os.path.join(tmp, "contactsd")
    subprocess.run(["go", "build", "-o", out, "./cmd/contactsd"], cwd=REPO_ROOT, check=True)
    return out


class Contactsd:
    """A contactsd process on a free loopback port."""

    def __init__(self, binary, *args, env=None):
        self.log = []
        self.proc = subprocess.Popen(
            [binary, "-listen", "127.0.0.1:0", "-upstream", "emulator", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        found = queue.Queue()
        threading.Thread(target=self._read, args=(found,), daemon=True).start()
        try:
            self.address = found.get(timeout=60)
        except queue.Empty:
            self.stop()
            raise RuntimeError("contactsd did not serve in 60 s:\n" + "\n".join(self.log))
        if self.address is None:
            raise RuntimeError("contactsd exited before serving:\n" + "\n".join(self.log))

    def _read(self, found):
        for line in self.proc.stderr:
            self.log.append(line.rstrip("\n"))
            m = SERVING.search(line)
            if m:
                found.put(m.group(1))
        found.put(None)  # the process ended

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(timeout=60)


class RateLimitedUpstream(http.server.ThreadingHTTPServer):
    """A stand-in for the Contacts API that answers every call with 429."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(429)
            self.send_header("Retry-After", "7")
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"slow down\n")

        def log_message(self, *args):
            pass

    def __init__(self):
        super().__init__(("127.0.0.1", 0), self.Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server_address[1]


def contact(**overrides):
    fields = dict(
        profiles=[pb.PROFILE_TYPE_GENERAL],
        contact_person=pb.ContactPerson(name="Eva Bakker", language_code="nl", job_title=pb.JOB_TITLE_OWNER),
        phones=[pb.Phone(phone_number="+31201112233", phone_tech_type=pb.PHONE_TECH_TYPE_MOBILE)],
        email="eva.bakker@example.com",
    )
    fields.update(overrides)
    return pb.Contact(**fields)


def failure(call, request):
    """Makes a call that must fail and returns its grpc.RpcError."""
    try:
        call(request, timeout=TIMEOUT)
    except grpc.RpcError as err:
        return err
    raise AssertionError("the call succeeded; want an error")


class ClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.binary = contactsd_binary(cls.tmp.name)
        cls.server = Contactsd(cls.binary)
        cls.channel = contacts_facade.channel(cls.server.address, insecure=True)
        cls.stub = contacts_pb2_grpc.ContactsServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        code = cls.server.stop()
        cls.tmp.cleanup()
        if code != 0:
            raise AssertionError("contactsd exit %d after SIGTERM:\n%s" % (code, "\n".join(cls.server.log)))

    def test_list_contacts(self):
        resp = self.stub.ListContacts(pb.ListContactsRequest(property_id="1000001"), timeout=TIMEOUT)
        self.assertEqual([c.contact_person.name for c in resp.contacts], ["Anna de Vries", "Jan Jansen"])
        self.assertEqual(list(resp.contacts[0].profiles), [pb.PROFILE_TYPE_GENERAL, pb.PROFILE_TYPE_INVOICES])
        self.assertEqual(resp.contacts[0].phones[0].phone_tech_type, pb.PHONE_TECH_TYPE_LANDLINE)
        self.assertRegex(resp.request_id, r"^\S+$")

    def test_invalid_request_has_error_info_and_bad_request(self):
        err = failure(self.stub.ReplaceContacts, pb.ReplaceContactsRequest(
            property_id="1000001", contacts=[contact(phones=[], email="not-an-email")]))
        self.assertEqual(err.code(), grpc.StatusCode.INVALID_ARGUMENT)
        d = contacts_facade.details(err)
        self.assertEqual(d.code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIsInstance(d.error_info, error_details_pb2.ErrorInfo)
        self.assertEqual(d.error_info.domain, contacts_facade.ERROR_DOMAIN)
        self.assertEqual(d.reason, "REQUIRED_FIELD_MISSING")
        self.assertEqual(d.ota_code, "321")
        self.assertEqual(d.error_info.metadata["otaCodes"], "321,320")
        self.assertEqual(d.error_info.metadata["propertyId"], "1000001")
        self.assertEqual([v.field for v in d.field_violations], ["contacts[0].phones", "contacts[0].email"])
        self.assertEqual([v.reason for v in d.field_violations], ["REQUIRED_FIELD_MISSING", "INVALID_VALUE"])
        self.assertTrue(all(v.description for v in d.field_violations), "every violation says what is wrong")
        self.assertTrue(d.help.links[0].url.startswith("https://"))
        self.assertIsNone(d.retry_info)
        self.assertIsNone(d.retry_delay)
        self.assertEqual(d.others, [])

    def test_unknown_property_has_resource_info(self):
        err = failure(self.stub.ListContacts, pb.ListContactsRequest(property_id="9999999"))
        d = contacts_facade.details(err)
        self.assertEqual(d.code, grpc.StatusCode.NOT_FOUND)
        self.assertEqual(d.reason, "NOT_FOUND")
        self.assertEqual(d.ota_code, "635")
        self.assertEqual(d.error_info.metadata["httpStatus"], "404")
        self.assertEqual(d.error_info.metadata["source"], "upstream")
        self.assertIsInstance(d.resource_info, error_details_pb2.ResourceInfo)
        self.assertEqual(d.resource_info.resource_type, "booking.com/Property")
        self.assertEqual(d.resource_info.resource_name, "properties/9999999")
        self.assertEqual(d.request_info.request_id, d.error_info.metadata["requestId"])
        self.assertEqual(d.field_violations, [])

    def test_create_replace_then_already_exists(self):
        created = self.stub.CreateContacts(pb.CreateContactsRequest(property_id="1000003", contacts=[contact()]), timeout=TIMEOUT)
        self.assertRegex(created.request_id, r"^\S+$")
        second = contact(
            profiles=[pb.PROFILE_TYPE_RESERVATIONS],
            contact_person=pb.ContactPerson(name="Piet Smit", language_code="en-gb"),
            email="piet.smit@example.com",
        )
        self.stub.ReplaceContacts(pb.ReplaceContactsRequest(property_id="1000003", contacts=[contact(), second]), timeout=TIMEOUT)
        listed = self.stub.ListContacts(pb.ListContactsRequest(property_id="1000003"), timeout=TIMEOUT)
        self.assertEqual([c.contact_person.name for c in listed.contacts], ["Eva Bakker", "Piet Smit"])

        err = failure(self.stub.CreateContacts, pb.CreateContactsRequest(property_id="1000003", contacts=[contact()]))
        d = contacts_facade.details(err)
        self.assertEqual(d.code, grpc.StatusCode.ALREADY_EXISTS)
        self.assertEqual(d.reason, "CHANGES_NOT_PERMITTED")
        self.assertEqual(d.ota_code, "150")
        self.assertEqual(d.resource_info.resource_name, "properties/1000003/contacts")

    def test_dry_run_shows_what_replace_would_delete(self):
        before = self.stub.ListContacts(pb.ListContactsRequest(property_id="1000001"), timeout=TIMEOUT)
        dry = self.stub.ReplaceContacts(pb.ReplaceContactsRequest(
            property_id="1000001", contacts=[contact()], validate_only=True), timeout=TIMEOUT)
        self.assertEqual([c.contact_person.name for c in dry.deleted_contacts], ["Anna de Vries", "Jan Jansen"])
        self.assertEqual([c.contact_person.name for c in dry.contacts], ["Eva Bakker"])
        self.assertEqual(dry.etag, before.etag, "the etag the dry run was computed against")
        after = self.stub.ListContacts(pb.ListContactsRequest(property_id="1000001"), timeout=TIMEOUT)
        self.assertEqual(after.etag, before.etag, "a dry run writes nothing")

    def test_rate_limited_upstream_gives_retry_info(self):
        upstream = RateLimitedUpstream()
        self.addCleanup(upstream.server_close)
        self.addCleanup(upstream.shutdown)
        server = Contactsd(self.binary, "-upstream", upstream.url, "-auth", "static",
                           env={"CONTACTS_API_TOKEN": "test-token"})
        self.addCleanup(server.stop)
        with contacts_facade.channel(server.address, insecure=True) as ch:
            err = failure(contacts_pb2_grpc.ContactsServiceStub(ch).ListContacts,
                          pb.ListContactsRequest(property_id="1000001"))
        d = contacts_facade.details(err)
        self.assertEqual(d.code, grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertEqual(d.reason, "RATE_LIMITED")
        self.assertIsInstance(d.retry_info, error_details_pb2.RetryInfo)
        self.assertEqual(d.retry_delay, datetime.timedelta(seconds=7))

    def test_error_without_details(self):
        with contacts_facade.channel("127.0.0.1:1", insecure=True) as ch:
            err = failure(contacts_pb2_grpc.ContactsServiceStub(ch).ReplaceContacts,
                          pb.ReplaceContactsRequest(property_id="1000001", contacts=[contact()]))
        d = contacts_facade.details(err)
        self.assertEqual(d.code, grpc.StatusCode.UNAVAILABLE)
        self.assertIsNone(d.error_info)
        self.assertEqual(d.ota_code, "")
        self.assertEqual(d.field_violations, [])

    def test_readme_example(self):
        """example.py, which the README quotes, runs as the README says."""
        with tempfile.TemporaryDirectory() as cwd:  # outside the package
            out = subprocess.run(
                [sys.executable, str(PACKAGE_ROOT / "example.py")],
                cwd=cwd, capture_output=True, text=True, timeout=60,
                env={**os.environ, "PYTHONPATH": str(PACKAGE_ROOT), "CONTACTS_ADDR": self.server.address},
            )
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, "\n".join([
            "Anna de Vries ['PROFILE_TYPE_GENERAL', 'PROFILE_TYPE_INVOICES']",
            "Jan Jansen ['PROFILE_TYPE_RESERVATIONS', 'PROFILE_TYPE_AVAILABILITY']",
            "INVALID_ARGUMENT REQUIRED_FIELD_MISSING OTA 321",
            "fix contacts[0].profiles REQUIRED_FIELD_MISSING",
            "fix contacts[0].contact_person REQUIRED_FIELD_MISSING",
            "fix contacts[0].phones REQUIRED_FIELD_MISSING",
            "fix contacts[0].email INVALID_VALUE",
            "fix contacts REQUIRED_FIELD_MISSING",
        ]) + "\n")


class FakeError(grpc.RpcError):
    """A grpc.RpcError as a stub raises it, with the trailer given."""

    def __init__(self, code, trailer):
        self._code, self._trailer = code, trailer

    def code(self):
        return self._code

    def details(self):
        return "from the error"

    def trailing_metadata(self):
        return (("grpc-status-details-bin", self._trailer),) if self._trailer is not None else ()


class LongRunningTest(unittest.TestCase):
    """The committed stubs hold what the bulk RPCs need, no server involved."""

    def test_bulk_rpcs_return_an_operation_that_operations_stub_follows(self):
        from google.longrunning import operations_pb2, operations_pb2_grpc

        service = pb.DESCRIPTOR.services_by_name["ContactsService"]
        for name in ("BulkEditProfile", "ApplyContactsTemplate", "RevertBulkEdit"):
            self.assertIs(service.methods_by_name[name].output_type, operations_pb2.Operation.DESCRIPTOR, name)
        ops = operations_pb2.DESCRIPTOR.services_by_name["Operations"]
        self.assertEqual(
            [m.name for m in ops.methods],
            ["ListOperations", "GetOperation", "DeleteOperation", "CancelOperation", "WaitOperation"],
        )
        with grpc.insecure_channel("127.0.0.1:1") as channel:
            stub = operations_pb2_grpc.OperationsStub(channel)
            self.assertTrue(callable(stub.WaitOperation))
        # An operation's metadata and response unpack to the contacts.v1 messages.
        op = operations_pb2.Operation(name="operations/x", done=True)
        op.metadata.Pack(pb.BulkEditMetadata())
        op.response.Pack(pb.BulkEditResponse())
        self.assertTrue(op.metadata.Is(pb.BulkEditMetadata.DESCRIPTOR))
        self.assertTrue(op.response.Is(pb.BulkEditResponse.DESCRIPTOR))


class DetailsTest(unittest.TestCase):
    """details() on trailers the facade does not send."""

    def test_unknown_and_repeated_types_are_kept_in_others(self):
        st = status_pb2.Status(code=grpc.StatusCode.INTERNAL.value[0], message="from the status")
        unknown = any_pb2.Any(type_url="type.googleapis.com/example.Unknown", value=b"\x08\x01")
        first, second = error_details_pb2.ErrorInfo(reason="FIRST"), error_details_pb2.ErrorInfo(reason="SECOND")
        for m in (first, second):
            st.details.add().Pack(m)
        st.details.append(unknown)
        d = contacts_facade.details(FakeError(grpc.StatusCode.INTERNAL, st.SerializeToString()))
        self.assertEqual(d.message, "from the status")
        self.assertEqual(d.reason, "FIRST")
        self.assertEqual([a.type_url for a in d.others],
                         ["type.googleapis.com/google.rpc.ErrorInfo", unknown.type_url])

    def test_undecodable_trailer_gives_code_and_message(self):
        d = contacts_facade.details(FakeError(grpc.StatusCode.INTERNAL, b"\xff\xff\xff"))
        self.assertEqual((d.code, d.message, d.error_info, d.others), (grpc.StatusCode.INTERNAL, "from the error", None, []))

    def test_no_trailer(self):
        d = contacts_facade.details(FakeError(grpc.StatusCode.DEADLINE_EXCEEDED, None))
        self.assertEqual((d.code, d.message, d.error_info), (grpc.StatusCode.DEADLINE_EXCEEDED, "from the error", None))


if __name__ == "__main__":
    unittest.main()
