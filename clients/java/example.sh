out=build/java && mkdir -p "$out/src" "$out/classes"
protoc --descriptor_set_in=clients/descriptors/contacts.binpb \
  --java_out="$out/src" --grpc-java_out="$out/src" --plugin=protoc-gen-grpc-java=/usr/bin/grpc_java_plugin \
  contacts/v1/contacts.proto google/rpc/status.proto google/rpc/error_details.proto \
  google/longrunning/operations.proto google/api/annotations.proto google/api/http.proto \
  google/api/client.proto google/api/launch_stage.proto google/api/field_behavior.proto
cp=$(printf '/usr/share/java/%s.jar:' protobuf grpc-api grpc-context grpc-core grpc-stub grpc-protobuf \
  grpc-protobuf-lite grpc-netty guava perfmark-api gson geronimo-annotation-1.3-spec \
  netty-common netty-buffer netty-resolver netty-transport netty-codec netty-codec-http netty-codec-http2 netty-handler)
javac -nowarn -d "$out/classes" -cp "$cp" $(find "$out/src" -name '*.java') clients/java/Example.java
java -cp "$out/classes:$cp" Example
