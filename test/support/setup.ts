// The deployed function runs on Node.js 22; the AWS SDK's warning about this machine's Node.js 20 is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
