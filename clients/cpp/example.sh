out=build/cpp && mkdir -p "$out"
protoc --descriptor_set_in=clients/descriptors/contacts.binpb \
  --cpp_out="$out" --grpc_out="$out" --plugin=protoc-gen-grpc=/usr/bin/grpc_cpp_plugin \
  contacts/v1/contacts.proto google/rpc/status.proto google/rpc/error_details.proto \
  google/longrunning/operations.proto google/api/annotations.proto google/api/http.proto \
  google/api/client.proto google/api/launch_stage.proto google/api/field_behavior.proto
g++ -std=c++17 -O1 -I"$out" -o "$out/example" clients/cpp/example.cc \
  "$out"/contacts/v1/*.cc "$out"/google/{rpc,longrunning,api}/*.cc $(pkg-config --cflags --libs grpc++ protobuf)
"$out/example"
