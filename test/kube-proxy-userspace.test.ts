/** kube-proxy in userspace mode (a relay per connection, like Kubernetes' old userspace proxy). */
import { kubeProxySuite } from './helpers/kube-proxy-suite.js';

kubeProxySuite('userspace');
