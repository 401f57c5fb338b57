// A C++ client of contacts.v1.ContactsService: one call, then one that
// fails, with its google.rpc details read from grpc::Status::error_details()
// (the grpc-status-details-bin trailer). example.sh builds and runs it.
#include <chrono>
#include <cstdlib>
#include <iostream>

#include <grpcpp/grpcpp.h>

#include "contacts/v1/contacts.grpc.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace pb = contacts::v1;

static void deadline(grpc::ClientContext& ctx) {
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
}

int main() {
  const char* addr = std::getenv("CONTACTS_ADDR");
  auto stub = pb::ContactsService::NewStub(
      grpc::CreateChannel(addr ? addr : "localhost:50051", grpc::InsecureChannelCredentials()));

  grpc::ClientContext list_ctx;
  deadline(list_ctx);
  pb::ListContactsRequest list;
  list.set_property_id("1000001");
  pb::ListContactsResponse listed;
  grpc::Status status = stub->ListContacts(&list_ctx, list, &listed);
  if (!status.ok()) {
    std::cerr << "ListContacts: " << status.error_message() << "\n";
    return 1;
  }
  for (const auto& c : listed.contacts()) std::cout << c.contact_person().name() << "\n";

  grpc::ClientContext ctx;
  deadline(ctx);
  pb::ReplaceContactsRequest req;
  req.set_property_id("1000001");
  req.add_contacts()->set_email("x");
  pb::ReplaceContactsResponse resp;
  status = stub->ReplaceContacts(&ctx, req, &resp);
  google::rpc::Status st;
  if (status.ok() || !st.ParseFromString(status.error_details())) return 1;
  for (const auto& any : st.details()) {
    google::rpc::ErrorInfo info;
    google::rpc::BadRequest bad;
    if (any.UnpackTo(&info)) {
      std::cout << "code " << status.error_code() << " " << info.reason() << " OTA " << info.metadata().at("otaCode") << "\n";
    } else if (any.UnpackTo(&bad)) {
      for (const auto& v : bad.field_violations()) std::cout << "fix " << v.field() << " " << v.reason() << "\n";
    }
  }
  return 0;
}
