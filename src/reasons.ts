/**
 * The bottom of the import graph: the Django and policy layers name reasons, and the decision, metrics
 * and audit layers above them count and log them.
 */

/** Why a request was decided the way it was: a stable code users can look up in the README. */
export type Reason =
  // allowed
  | 'ok'
  | 'public'
  // no usable Django session
  | 'no_cookie'
  | 'invalid_session_key'
  | 'bad_signature'
  | 'expired'
  | 'no_session'
  | 'bad_payload'
  | 'not_logged_in'
  | 'bad_user_id'
  | 'no_backend'
  | 'backend_not_allowed'
  | 'unknown_user'
  | 'inactive'
  | 'hash_mismatch'
  // a known user the policy refuses
  | 'not_superuser'
  | 'not_staff'
  | 'not_in_group'
  | 'missing_permission'
  | 'requires_service_account'
  | 'csrf_origin_mismatch'
  // a request that cannot be judged as the proxy and Flower would route it (400, 404)
  | 'bad_request'
  | 'ambiguous_path'
  | 'disallowed_host'
  | 'outside_prefix'
  // Kubernetes service accounts
  | 'kube_token_invalid'
  | 'kube_access_denied'
  | 'kube_not_allowed'
  // failures (503)
  | 'store_unavailable'
  | 'kube_unavailable'
  | 'internal_error';
