package errmap

// EncodedSize is encodedSize, for TestEncodedSizeIsProtoSize.
var EncodedSize = encodedSize
