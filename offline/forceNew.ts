// Where the real AWS provider replaces a resource instead of updating it: the input properties
// Terraform's AWS provider marks ForceNew (SDKv2) or RequiresReplace (framework), which the Pulumi
// bridge turns into replaces, for every type this program uses. The offline engine predicts
// replacements with it (offline/operations.ts); the real-engine tests' stub aws plugin answers
// with it. Sources: hashicorp/terraform-provider-aws `internal/service/<dir>/<file>.go`, named per
// entry; README "Checked with the real engine" lists them (four were read for this table, the rest
// are the provider's documented "forces new resource" properties).

/**
 * Input properties whose change forces a new resource (Terraform's ForceNew / RequiresReplace, which
 * the Pulumi bridge turns into replaces), per type. A dotted path is a property inside an object
 * (rootBlockDevice.encrypted).
 */
export const FORCE_NEW: Record<string, string[]> = {
  // ec2/vpc_security_group.go
  "aws:ec2/securityGroup:SecurityGroup": ["name", "namePrefix", "description", "vpcId"],
  // ec2/vpc_security_group_ingress_rule.go, _egress_rule.go (framework: RequiresReplace)
  "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ["securityGroupId"],
  "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ["securityGroupId"],
  // ec2/ec2_key_pair.go (read for this table)
  "aws:ec2/keyPair:KeyPair": ["keyName", "keyNamePrefix", "publicKey"],
  // ec2/ec2_instance.go (userData only with userDataReplaceOnChange, see diff())
  "aws:ec2/instance:Instance": ["ami", "availabilityZone", "subnetId", "keyName", "privateIp", "associatePublicIpAddress", "placementGroup",
    "tenancy", "hostId", "networkInterfaces", "ebsBlockDevices", "ephemeralBlockDevices", "rootBlockDevice.encrypted", "rootBlockDevice.kmsKeyId"],
  // ec2/ec2_ami_from_instance.go (read for this table)
  "aws:ec2/amiFromInstance:AmiFromInstance": ["name", "sourceInstanceId", "snapshotWithoutReboot", "ephemeralBlockDevices"],
  // ec2/ec2_instance_state.go (read for this table)
  "aws:ec2transitgateway/instanceState:InstanceState": ["instanceId"],
  // ec2/ec2_launch_template.go: every other change is a new version of the same template
  "aws:ec2/launchTemplate:LaunchTemplate": ["name", "namePrefix"],
  // ec2/vpc_endpoint.go
  "aws:ec2/vpcEndpoint:VpcEndpoint": ["vpcId", "serviceName", "vpcEndpointType"],
  // autoscaling/group.go
  "aws:autoscaling/group:Group": ["name", "namePrefix"],
  // iam/user.go: a rename is an UpdateUser
  "aws:iam/user:User": [],
  // iam/user_policy.go, role_policy.go
  "aws:iam/userPolicy:UserPolicy": ["user", "name", "namePrefix"],
  "aws:iam/rolePolicy:RolePolicy": ["role", "name", "namePrefix"],
  // iam/access_key.go (read for this table)
  "aws:iam/accessKey:AccessKey": ["user", "pgpKey"],
  // s3/bucket.go and the bucket's sub-resources
  "aws:s3/bucket:Bucket": ["bucket", "bucketPrefix", "objectLockEnabled"],
  "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": ["bucket"],
  "aws:s3/bucketOwnershipControls:BucketOwnershipControls": ["bucket"],
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": ["bucket", "expectedBucketOwner"],
  "aws:s3/bucketVersioning:BucketVersioning": ["bucket", "expectedBucketOwner"],
  "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": ["bucket", "expectedBucketOwner"],
};
