/**
 * Column definitions of the Tables kube-apiserver returns (pkg/printers/
 * internalversion/printers.go AddHandlers), with the descriptions it takes from
 * the API types' swagger docs. Priority 1 marks the columns kubectl shows only
 * with `-o wide`; the server always sends every column.
 */

export interface TableColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

/** Swagger descriptions of the fields the columns show ("Type.field"). */
const DOC: Readonly<Record<string, string>> = {
  'ObjectMeta.name': "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
  'ObjectMeta.creationTimestamp': "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
  'PodStatus.podIP': "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
  'PodStatus.nominatedNodeName': "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.",
  'PodSpec.nodeName': "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename",
  'PodSpec.readinessGates': "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates",
  'ReplicationControllerSpec.replicas': "Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller",
  'ReplicationControllerSpec.selector': "Selector is a label query over pods that should match the Replicas count. If Selector is empty, it is defaulted to the labels present on the Pod template. Label keys and values that must match in order to be controlled by this replication controller, if empty defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
  'ReplicationControllerStatus.replicas': "Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller",
  'ReplicationControllerStatus.readyReplicas': "The number of ready replicas for this replication controller.",
  'ServiceSpec.type': "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer. \"ClusterIP\" allocates a cluster-internal IP address for load-balancing to endpoints. Endpoints are determined by the selector or if that is not specified, by manual construction of an Endpoints object or EndpointSlice objects. If clusterIP is \"None\", no virtual IP is allocated and the endpoints are published as a set of endpoints rather than a virtual IP. \"NodePort\" builds on ClusterIP and allocates a port on every node which routes to the same endpoints as the clusterIP. \"LoadBalancer\" builds on NodePort and creates an external load-balancer (if supported in the current cloud) which routes to the same endpoints as the clusterIP. \"ExternalName\" aliases this service to the specified externalName. Several other fields do not apply to ExternalName services. More info: https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types",
  'ServiceSpec.clusterIP': "clusterIP is the IP address of the service and is usually assigned randomly. If an address is specified manually, is in-range (as per system configuration), and is not in use, it will be allocated to the service; otherwise creation of the service will fail. This field may not be changed through updates unless the type field is also being changed to ExternalName (which requires this field to be blank) or the type field is being changed from ExternalName (in which case this field may optionally be specified, as describe above).  Valid values are \"None\", empty string (\"\"), or a valid IP address. Setting this to \"None\" makes a \"headless service\" (no virtual IP), which is useful when direct endpoint connections are preferred and proxying is not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this field is specified when creating a Service of type ExternalName, creation will fail. This field will be wiped when updating a Service to type ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies",
  'ServiceSpec.externalIPs': "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.  These IPs are not managed by Kubernetes.  The user is responsible for ensuring that traffic arrives at a node with this IP.  A common example is external load-balancers that are not part of the Kubernetes system.",
  'ServiceSpec.ports': "The list of ports that are exposed by this service. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies",
  'ServiceSpec.selector': "Route service traffic to pods with label keys and values matching this selector. If empty or not present, the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/",
  'Endpoints.subsets': "The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share. A single address with multiple ports, some of which are ready and some of which are not (because they come from different containers) will result in the address being displayed in different subsets for the different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service.",
  'NodeSystemInfo.kubeletVersion': "Kubelet Version reported by the node.",
  'NodeSystemInfo.osImage': "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
  'NodeSystemInfo.kernelVersion': "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
  'NodeSystemInfo.containerRuntimeVersion': "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
  'NodeStatus.addresses': "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP).",
  'Event.lastTimestamp': "The time at which the most recent occurrence of this event was recorded.",
  'Event.type': "Type of this event (Normal, Warning), new types could be added in the future",
  'Event.reason': "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
  'Event.involvedObject': "The object that this event is about.",
  'Event.source': "The component reporting this event. Should be a short machine understandable string.",
  'Event.message': "A human-readable description of the status of this operation.",
  'Event.firstTimestamp': "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
  'Event.count': "The number of times this event has occurred.",
  'ObjectReference.fieldPath': "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: \"spec.containers{name}\" (where \"name\" refers to the name of the container that triggered the event) or if no container name is specified \"spec.containers[2]\" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.",
  'Secret.type': "Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types",
  'Secret.data': "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4",
  'ServiceAccount.secrets': 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use. Pods are only limited to this list if this service account has a "kubernetes.io/enforce-mountable-secrets" annotation set to "true". The "kubernetes.io/enforce-mountable-secrets" annotation is deprecated since v1.32. Prefer separate namespaces to isolate access to mounted secrets. This field should not be used to find auto-generated service account token secrets for use outside of pods. Instead, tokens can be requested directly using the TokenRequest API, or service account token secrets can be manually created. More info: https://kubernetes.io/docs/concepts/configuration/secret',
  'ConfigMap.data': "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.",
  'ReplicaSetSpec.replicas': "Replicas is the number of desired pods. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicaset",
  'ReplicaSetSpec.selector': "Selector is a label query over pods that should match the replica count. If the selector is empty, it is defaulted to the labels present on the pod template. Label keys and values that must match in order to be controlled by this replica set. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
  'ReplicaSetStatus.replicas': "Replicas is the most recently observed number of non-terminating pods. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicaset",
  'ReplicaSetStatus.readyReplicas': "The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition.",
  'DeploymentStatus.updatedReplicas': "Total number of non-terminating pods targeted by this deployment that have the desired template spec.",
  'DeploymentStatus.availableReplicas': "Total number of available non-terminating pods (ready for at least minReadySeconds) targeted by this deployment.",
  'DeploymentSpec.selector': "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.",
  'EndpointSlice.addressType': "addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be the same type. This field is immutable after creation. The following address types are currently supported: * IPv4: Represents an IPv4 Address. * IPv6: Represents an IPv6 Address. * FQDN: Represents a Fully Qualified Domain Name.",
  'EndpointSlice.ports': "ports specifies the list of network ports exposed by each endpoint in this slice. Each port must have a unique name. When ports is empty, it indicates that there are no defined ports. When a port is defined with a nil port value, it indicates \"all ports\". Each slice may include a maximum of 100 ports.",
  'EndpointSlice.endpoints': "endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 endpoints.",
};

function col(name: string, type: string, description: string, opts: { format?: string; priority?: number } = {}): TableColumnDefinition {
  return { name, type, format: opts.format ?? '', description, priority: opts.priority ?? 0 };
}

const wide = { priority: 1 };
const NAME = col('Name', 'string', DOC['ObjectMeta.name'], { format: 'name' });
const AGE = col('Age', 'string', DOC['ObjectMeta.creationTimestamp']);
const CONTAINERS = col('Containers', 'string', 'Names of each container in the template.', wide);
const IMAGES = col('Images', 'string', 'Images referenced by each container in the template.', wide);

export const COLUMNS = {
  pods: [
    NAME,
    col('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
    col('Status', 'string', 'The aggregate status of the containers in this pod.'),
    col('Restarts', 'string', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
    AGE,
    col('IP', 'string', DOC['PodStatus.podIP'], wide),
    col('Node', 'string', DOC['PodSpec.nodeName'], wide),
    col('Nominated Node', 'string', DOC['PodStatus.nominatedNodeName'], wide),
    col('Readiness Gates', 'string', DOC['PodSpec.readinessGates'], wide),
  ],
  replicationcontrollers: [
    NAME,
    col('Desired', 'integer', DOC['ReplicationControllerSpec.replicas']),
    col('Current', 'integer', DOC['ReplicationControllerStatus.replicas']),
    col('Ready', 'integer', DOC['ReplicationControllerStatus.readyReplicas']),
    AGE,
    CONTAINERS,
    IMAGES,
    col('Selector', 'string', DOC['ReplicationControllerSpec.selector'], wide),
  ],
  replicasets: [
    NAME,
    col('Desired', 'integer', DOC['ReplicaSetSpec.replicas']),
    col('Current', 'integer', DOC['ReplicaSetStatus.replicas']),
    col('Ready', 'integer', DOC['ReplicaSetStatus.readyReplicas']),
    AGE,
    CONTAINERS,
    IMAGES,
    col('Selector', 'string', DOC['ReplicaSetSpec.selector'], wide),
  ],
  deployments: [
    NAME,
    col('Ready', 'string', 'Number of the pod with ready state'),
    col('Up-to-date', 'string', DOC['DeploymentStatus.updatedReplicas']),
    col('Available', 'string', DOC['DeploymentStatus.availableReplicas']),
    AGE,
    CONTAINERS,
    IMAGES,
    col('Selector', 'string', DOC['DeploymentSpec.selector'], wide),
  ],
  services: [
    NAME,
    col('Type', 'string', DOC['ServiceSpec.type']),
    col('Cluster-IP', 'string', DOC['ServiceSpec.clusterIP']),
    col('External-IP', 'string', DOC['ServiceSpec.externalIPs']),
    col('Port(s)', 'string', DOC['ServiceSpec.ports']),
    AGE,
    col('Selector', 'string', DOC['ServiceSpec.selector'], wide),
  ],
  ingresses: [
    NAME,
    col('Class', 'string', 'The name of the IngressClass resource that should be used for additional configuration'),
    col('Hosts', 'string', 'Hosts that incoming requests are matched against before the ingress rule'),
    col('Address', 'string', 'Address is a list containing ingress points for the load-balancer'),
    col('Ports', 'string', 'Ports of TLS configurations that open'),
    AGE,
  ],
  ingressclasses: [
    NAME,
    col('Controller', 'string', 'Controller that is responsible for handling this class'),
    col('Parameters', 'string', 'A reference to a resource with additional parameters'),
    AGE,
  ],
  endpoints: [NAME, col('Endpoints', 'string', DOC['Endpoints.subsets']), AGE],
  endpointslices: [
    NAME,
    col('AddressType', 'string', DOC['EndpointSlice.addressType']),
    col('Ports', 'string', DOC['EndpointSlice.ports']),
    col('Endpoints', 'string', DOC['EndpointSlice.endpoints']),
    AGE,
  ],
  nodes: [
    NAME,
    col('Status', 'string', 'The status of the node'),
    col('Roles', 'string', 'The roles of the node'),
    AGE,
    col('Version', 'string', DOC['NodeSystemInfo.kubeletVersion']),
    col('Internal-IP', 'string', DOC['NodeStatus.addresses'], wide),
    col('External-IP', 'string', DOC['NodeStatus.addresses'], wide),
    col('OS-Image', 'string', DOC['NodeSystemInfo.osImage'], wide),
    col('Kernel-Version', 'string', DOC['NodeSystemInfo.kernelVersion'], wide),
    col('Container-Runtime', 'string', DOC['NodeSystemInfo.containerRuntimeVersion'], wide),
  ],
  events: [
    col('Last Seen', 'string', DOC['Event.lastTimestamp']),
    col('Type', 'string', DOC['Event.type']),
    col('Reason', 'string', DOC['Event.reason']),
    col('Object', 'string', DOC['Event.involvedObject']),
    col('Subobject', 'string', DOC['ObjectReference.fieldPath'], wide),
    col('Source', 'string', DOC['Event.source'], wide),
    col('Message', 'string', DOC['Event.message']),
    col('First Seen', 'string', DOC['Event.firstTimestamp'], wide),
    col('Count', 'string', DOC['Event.count'], wide),
    col('Name', 'string', DOC['ObjectMeta.name'], { format: 'name', priority: 1 }),
  ],
  namespaces: [NAME, col('Status', 'string', 'The status of the namespace'), AGE],
  secrets: [NAME, col('Type', 'string', DOC['Secret.type']), col('Data', 'string', DOC['Secret.data']), AGE],
  configmaps: [NAME, col('Data', 'string', DOC['ConfigMap.data']), AGE],
  serviceaccounts: [NAME, col('Secrets', 'string', DOC['ServiceAccount.secrets']), AGE],
  /** Anything without a printer: NAME and AGE, plus the creation time for -o wide. */
  default: [NAME, AGE, col('Created At', 'date', DOC['ObjectMeta.creationTimestamp'], wide)],
} satisfies Record<string, TableColumnDefinition[]>;
