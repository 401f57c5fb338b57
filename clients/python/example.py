import os

import grpc

import contacts_facade
from contacts.v1 import contacts_pb2 as pb, contacts_pb2_grpc

channel = contacts_facade.channel(os.environ.get("CONTACTS_ADDR", "localhost:50051"), insecure=True)
stub = contacts_pb2_grpc.ContactsServiceStub(channel)
for c in stub.ListContacts(pb.ListContactsRequest(property_id="1000001"), timeout=10).contacts:
    print(c.contact_person.name, [pb.ProfileType.Name(p) for p in c.profiles])
try:
    stub.ReplaceContacts(pb.ReplaceContactsRequest(property_id="1000001", contacts=[pb.Contact(email="x")]), timeout=10)
except grpc.RpcError as err:
    d = contacts_facade.details(err)
    print(err.code().name, d.reason, "OTA", d.ota_code)
    for v in d.field_violations:
        print("fix", v.field, v.reason)
