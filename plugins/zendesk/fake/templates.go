package fake

// The wire forms of the fake's answers, in the shape of Zendesk's recorded
// answers (../testdata/vendor): every key Zendesk sends, with neutral
// values the fake overwrites per record.

const ticketTemplate = `{
  "url": "", "id": 0, "external_id": null,
  "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": null}},
  "created_at": "", "updated_at": "", "type": null, "subject": "", "raw_subject": "", "description": "",
  "priority": "normal", "status": "new", "recipient": null, "requester_id": 0, "submitter_id": 0, "assignee_id": null,
  "organization_id": 360000000100, "group_id": 360000000200, "collaborator_ids": [], "follower_ids": [], "email_cc_ids": [],
  "forum_topic_id": null, "problem_id": null, "has_incidents": false, "is_public": true, "due_at": null,
  "tags": [], "custom_fields": [], "satisfaction_rating": null, "sharing_agreement_ids": [], "fields": [], "followup_ids": [],
  "ticket_form_id": 360000000300, "brand_id": 360000000400, "satisfaction_probability": null,
  "allow_channelback": false, "allow_attachments": true
}`

const auditTemplate = `{
  "id": 0, "ticket_id": 0, "created_at": "", "author_id": 0,
  "metadata": {"system": {"client": "reviewhub", "ip_address": "127.0.0.1", "location": "Loopback", "latitude": 0.0, "longitude": 0.0}, "custom": {}},
  "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": null}},
  "events": []
}`

const userTemplate = `{
  "id": 0, "url": "", "name": "", "email": "", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
  "time_zone": "UTC", "iana_time_zone": "Etc/UTC", "phone": null, "shared_phone_number": null,
  "photo": {"url": "", "id": 1, "file_name": "avatar.png", "content_url": "", "mapped_content_url": "", "content_type": "image/png",
    "size": 1, "width": 40, "height": 40, "inline": false,
    "thumbnails": [{"url": "", "id": 2, "file_name": "avatar_thumb.png", "content_url": "", "mapped_content_url": "",
      "content_type": "image/png", "size": 1, "width": 32, "height": 32, "inline": false}]},
  "locale_id": 1, "locale": "en-US", "organization_id": null, "role": "agent", "verified": true, "external_id": null,
  "tags": [], "alias": null, "active": true, "shared": false, "shared_agent": false, "last_login_at": null,
  "two_factor_auth_enabled": false, "signature": null, "details": null, "notes": null, "role_type": null,
  "custom_role_id": null, "moderator": false, "ticket_restriction": "requested", "only_private_comments": false,
  "restricted_agent": false, "suspended": false, "chat_only": false, "default_group_id": null, "report_csv": false,
  "user_fields": {}
}`

const fieldTemplate = `{
  "url": "", "id": 0, "type": "text", "title": "", "raw_title": "", "description": "", "raw_description": "",
  "position": 0, "active": true, "required": false, "collapsed_for_agents": false, "regexp_for_validation": null,
  "title_in_portal": "", "raw_title_in_portal": "", "visible_in_portal": false, "editable_in_portal": false,
  "required_in_portal": false, "tag": null, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
  "removable": true, "agent_description": null
}`
