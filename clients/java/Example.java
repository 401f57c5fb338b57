// A Java client of contacts.v1.ContactsService: one call, then one that
// fails, with its google.rpc details read by StatusProto (grpc-protobuf).
// example.sh generates the classes it needs from the descriptor set.
import static java.util.concurrent.TimeUnit.SECONDS;

import com.contactsfacade.contacts.v1.Contact;
import com.contactsfacade.contacts.v1.ContactsServiceGrpc;
import com.contactsfacade.contacts.v1.ListContactsRequest;
import com.contactsfacade.contacts.v1.ReplaceContactsRequest;
import com.google.protobuf.Any;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;

public class Example {
  public static void main(String[] args) throws Exception {
    String addr = System.getenv().getOrDefault("CONTACTS_ADDR", "localhost:50051");
    ManagedChannel channel = ManagedChannelBuilder.forTarget(addr).usePlaintext().build();
    var stub = ContactsServiceGrpc.newBlockingStub(channel);
    var listed = stub.withDeadlineAfter(10, SECONDS)
        .listContacts(ListContactsRequest.newBuilder().setPropertyId("1000001").build());
    for (Contact c : listed.getContactsList()) System.out.println(c.getContactPerson().getName());
    try {
      stub.withDeadlineAfter(10, SECONDS).replaceContacts(ReplaceContactsRequest.newBuilder()
          .setPropertyId("1000001").addContacts(Contact.newBuilder().setEmail("x")).build());
    } catch (StatusRuntimeException e) {
      com.google.rpc.Status st = StatusProto.fromThrowable(e); // grpc-status-details-bin
      for (Any any : st.getDetailsList()) {
        if (any.is(ErrorInfo.class)) {
          ErrorInfo info = any.unpack(ErrorInfo.class);
          System.out.println(e.getStatus().getCode() + " " + info.getReason() + " OTA " + info.getMetadataOrDefault("otaCode", ""));
        } else if (any.is(BadRequest.class)) {
          for (var v : any.unpack(BadRequest.class).getFieldViolationsList()) System.out.println("fix " + v.getField() + " " + v.getReason());
        }
      }
    }
    channel.shutdownNow().awaitTermination(5, SECONDS);
  }
}
