-- Tasks (任务, issue 17): a registered record kind (src/modules/tasks). Seen by its owner's scope,
-- its creator and its participants. Most of a busy company's tasks are done, so the open views
-- read partial indexes over open tasks only.

CREATE TABLE tasks (
  id             bigserial PRIMARY KEY,
  title          text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  description    text,
  owner_id       bigint REFERENCES users(id),
  created_by     bigint REFERENCES users(id),
  due_at         timestamptz,
  -- 0 none, 1 low, 2 medium, 3 high.
  priority       smallint NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 3),
  -- Where the owner filed it (the views also place tasks by their due date).
  bucket         text NOT NULL DEFAULT 'inbox' CHECK (bucket IN ('inbox', 'today', 'next', 'later')),
  done_at        timestamptz,
  done_by        bigint REFERENCES users(id),
  -- Remind this many minutes before the due time (NULL: no reminder); at most a week ahead.
  remind_minutes integer DEFAULT 30 CHECK (remind_minutes BETWEEN 0 AND 10080),
  reminded_at    timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  deleted_at     timestamptz,
  deleted_by     bigint REFERENCES users(id)
);
-- My open tasks (inbox, today, next, later, overdue, the to-do source) and a manager's team
-- view, by due time; with what their order and filters read, so a page's ids come from the index
-- alone.
CREATE INDEX tasks_owner_open ON tasks (owner_id, due_at) INCLUDE (bucket, priority, id)
  WHERE done_at IS NULL AND deleted_at IS NULL;
-- My done tasks, newest first.
CREATE INDEX tasks_owner_done ON tasks (owner_id, done_at DESC, id DESC)
  WHERE done_at IS NOT NULL AND deleted_at IS NULL;
-- A calendar's tasks (open and done) of one owner in a date range.
CREATE INDEX tasks_owner_due ON tasks (owner_id, due_at) WHERE deleted_at IS NULL AND due_at IS NOT NULL;
-- Tasks I created (for others).
CREATE INDEX tasks_created_by ON tasks (created_by, id DESC) WHERE deleted_at IS NULL;
-- The reminder job: open tasks not reminded yet, by due time.
CREATE INDEX tasks_to_remind ON tasks (due_at)
  WHERE reminded_at IS NULL AND done_at IS NULL AND deleted_at IS NULL AND remind_minutes IS NOT NULL;
-- The recycle bin.
CREATE INDEX tasks_deleted ON tasks (deleted_at DESC) WHERE deleted_at IS NOT NULL;
CREATE TRIGGER tasks_touch BEFORE UPDATE ON tasks FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER tasks_count AFTER INSERT OR DELETE OR UPDATE OF owner_id, deleted_at ON tasks
  FOR EACH ROW EXECUTE FUNCTION count_live_by_owner('task');

-- Participants (参与人) see the task and may complete it.
CREATE TABLE task_participants (
  task_id bigint NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  PRIMARY KEY (task_id, user_id)
);
CREATE INDEX task_participants_user ON task_participants (user_id, task_id);

-- The checklist (子任务).
CREATE TABLE task_subtasks (
  id       bigserial PRIMARY KEY,
  task_id  bigint NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  title    text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  done_at  timestamptz,
  position integer NOT NULL DEFAULT 0
);
CREATE INDEX task_subtasks_task ON task_subtasks (task_id, position, id);

CREATE TABLE task_comments (
  id         bigserial PRIMARY KEY,
  task_id    bigint NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  author_id  bigint REFERENCES users(id),
  body       text NOT NULL CHECK (length(body) BETWEEN 1 AND 5000),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX task_comments_task ON task_comments (task_id, id);

-- Each user's own tags, with a colour.
CREATE TABLE task_tags (
  id      bigserial PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name    text NOT NULL CHECK (length(name) BETWEEN 1 AND 30),
  color   text NOT NULL DEFAULT 'blue' CHECK (color IN ('gray', 'blue', 'green', 'amber', 'red', 'purple')),
  UNIQUE (user_id, name)
);

CREATE TABLE task_tag_links (
  task_id bigint NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  tag_id  bigint NOT NULL REFERENCES task_tags(id) ON DELETE CASCADE,
  PRIMARY KEY (task_id, tag_id)
);
CREATE INDEX task_tag_links_tag ON task_tag_links (tag_id);
