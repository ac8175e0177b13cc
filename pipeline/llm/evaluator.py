"""The hybrid evaluation: rules for the clear cases, the model for the rest, in batched calls.

Every model answer is checked; a lead the model did not answer is asked again once and then
judged by the rules (`evaluator='rules_fallback'`, with the reason). A lead is never marked
irrelevant because a call failed. When the account's daily budget runs out, or call after
call fails every retry (the service is down), the run stops: what was paid for is cached, and
the leads not yet judged stay pending, those of the failed calls included.

In batch mode the leads the cache cannot answer go to Groq's Batch API instead of being called
(`AwaitingBatch` says which); leads earlier batches left unanswered are routed by
`routing.plan_batch`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd

from pipeline.llm.answers import ModelScore, check_answer
from pipeline.llm.batch.submission import GroqBatches
from pipeline.llm.client import (
    CallFailed,
    CallRecord,
    CallsStopped,
    GroqChat,
    ModelUnavailable,
    RequestTooLarge,
)
from pipeline.llm.outcome import AwaitingBatch, EvaluationIncomplete, ModelStats
from pipeline.llm.progress import PROGRESS_EVENTS, CallProgress
from pipeline.llm.prompts import (
    PROMPT_VERSION,
    LeadForModel,
    batch_completion_budget,
    batch_message,
    persona_prompt,
)
from pipeline.llm.routing import (
    BatchPlan,
    answer_cache_key,
    company_batches,
    leads_for_model,
    needs_model,
    one_per_answer,
    plan_batch,
    share_answers,
)
from pipeline.llm.store import CachedScore, LlmStore
from pipeline.persona.spec import Persona
from pipeline.ranking.evaluation import judge_with_rules
from pipeline.ranking.ladder import RUNG_FIT, climb_ladder
from pipeline.ranking.rules import BASIS_UNREAD, fit_of_score

EVALUATOR_RULES = "rules"
EVALUATOR_MODEL = "groq"
EVALUATOR_FALLBACK = "rules_fallback"
BASIS_MODEL = "model"


@dataclass(frozen=True)
class BatchMode:
    """A run nobody waits for: the leads that need the model go to Groq's Batch API."""

    batches: GroqBatches
    client: str
    # What becomes of leads earlier batches left unanswered (`routing.plan_batch`).
    on_failure: str = "batch"
    max_attempts: int = 2
    # Failed batches older than this are forgotten: a lead judged by the rules after failed
    # batches is asked again on a later night.
    memory: timedelta = timedelta(days=7)


@dataclass
class HybridEvaluator:
    """Runs one evaluation; `chat` calls the model, `store` caches answers and logs calls."""

    persona: Persona
    chat: GroqChat
    store: LlmStore
    run_id: str
    batch_size: int
    log: Callable[[str], None] = print
    # Calls in flight at once; every one is admitted by the same limiter.
    concurrency: int = 1
    # Set for a batch-mode run.
    batch: BatchMode | None = None
    # One call failing every retry is that request's bad luck: its leads go to the rules.
    # This many in a row, with no answer between, is an outage: the run stops instead.
    unavailable_after_failed_calls: int = 3

    def __post_init__(self) -> None:
        # The same prefix for every call of the run (Groq caches it): built once.
        self._system_prompt = persona_prompt(self.persona)
        # Finished calls update the answers, the stats and the store one at a time.
        self._lock = threading.Lock()
        self._progress: CallProgress | None = None
        # Set by a daily cap or an outage: calls not yet started are not sent.
        self._stopped: CallsStopped | None = None
        # Leads of calls that failed every retry: the rules judge them, unless an outage
        # stops the run, when they are pending like the rest.
        self._failed_calls: dict[str, str] = {}
        self._failed_in_a_row = 0
        self._answered_calls = 0
        self._last_failure = ""

    def evaluate(
        self, leads: pd.DataFrame, evaluated_at: datetime
    ) -> tuple[pd.DataFrame, ModelStats]:
        self._failed_calls, self._failed_in_a_row, self._answered_calls = {}, 0, 0
        rules = judge_with_rules(leads, self.persona, EVALUATOR_RULES, evaluated_at)
        routed = needs_model(leads, rules)
        candidates = leads_for_model(leads[routed])
        stats = ModelStats(
            model=self.chat.model, sent_to_model=len(candidates), concurrency=self.concurrency
        )
        keys = {
            lead.lead_id: answer_cache_key(lead, self.persona, self.chat.model)
            for lead in candidates
        }
        cached = self.store.cached(list(keys.values()))
        answers = {lead_id: cached[key] for lead_id, key in keys.items() if key in cached}
        stats.cache_hits = len(answers)
        todo, sharers = one_per_answer(
            [lead for lead in candidates if lead.lead_id not in answers], keys
        )
        stats.shared_answers = sum(map(len, sharers.values()))
        plan = self._plan(todo, keys)
        fallbacks = dict(plan.fallbacks)
        batches = company_batches(plan.sync, self.batch_size)
        self.log(
            f"{len(candidates)} of {len(leads)} leads need the model; {stats.cache_hits} "
            f"cached, {stats.shared_answers} share a colleague's answer, "
            f"{len(plan.sync)} to send in {len(batches)} calls to {self.chat.model}, "
            f"{self.concurrency} at a time"
            + (
                f"; {len(plan.submit)} to a batch, {len(plan.waiting)} waiting in open batches, "
                f"{len(plan.fallbacks)} to the rules after failed batches"
                if self.batch
                else ""
            )
        )
        self._progress = CallProgress(
            len(batches), len(plan.sync), self.chat.limiter.limits, self.chat.limiter.minute_s
        )
        try:
            with self.store.session():
                self._judge_all(batches, keys, answers, fallbacks, stats)
                if self._failed_calls and not self._answered_calls:
                    # Fewer calls than make an outage, but none answered: the same outage.
                    raise ModelUnavailable(self._failed_in_a_row, self._last_failure)
        except CallsStopped as stop:
            pending = [
                lead
                for part in batches
                for asked in part
                if asked.lead_id not in answers and asked.lead_id not in fallbacks
                for lead in (asked, *sharers.get(asked.lead_id, ()))
            ]
            raise EvaluationIncomplete(str(stop), pending, stats) from stop
        fallbacks.update(self._failed_calls)
        share_answers(sharers, answers, fallbacks)
        if self.batch and (plan.submit or plan.waiting):
            submitted = (
                self.batch.batches.submit(
                    self.run_id,
                    self.batch.client,
                    self.persona.fingerprint,
                    self._system_prompt,
                    company_batches(plan.submit, self.batch_size),
                    keys,
                )
                if plan.submit
                else []
            )
            raise AwaitingBatch(submitted, len(plan.submit), len(plan.waiting), stats)
        stats.answered = len(answers) - stats.cache_hits
        stats.fallbacks = len(fallbacks)
        judged = self._frame(
            self._read_unanswered(leads, rules, fallbacks, evaluated_at), answers, fallbacks
        )
        return climb_ladder(leads, judged, self.persona), stats

    def _read_unanswered(
        self,
        leads: pd.DataFrame,
        rules: pd.DataFrame,
        fallbacks: dict[str, str],
        evaluated_at: datetime,
    ) -> pd.DataFrame:
        """The rules' rows, with the unread titles the model never answered read offline (by
        meaning): a fallback is the offline evaluator's judgement, never a failure's zero."""
        unread = rules["lead_id"].isin(fallbacks.keys()) & (rules["decision_basis"] == BASIS_UNREAD)
        if not unread.any():
            return rules
        offline = judge_with_rules(
            leads[unread.to_numpy()], self.persona, EVALUATOR_RULES, evaluated_at, by_meaning=True
        )
        frame = rules.copy()
        frame.loc[unread, offline.columns] = offline.set_index(frame.index[unread]).to_numpy()
        return frame

    def _plan(self, todo: list[LeadForModel], keys: dict[str, str]) -> BatchPlan:
        """Every uncached lead is called now, unless the run is in batch mode."""
        if self.batch is None or not todo:
            return BatchPlan(sync=todo)
        ledger = self.batch.batches.ledger
        return plan_batch(
            todo,
            keys,
            ledger.waiting(self.batch.client),
            ledger.failures(self.batch.client, datetime.now(UTC) - self.batch.memory),
            self.batch.on_failure,
            self.batch.max_attempts,
        )

    def _judge_all(
        self,
        batches: list[list[LeadForModel]],
        keys: dict[str, str],
        answers: dict[str, CachedScore],
        fallbacks: dict[str, str],
        stats: ModelStats,
    ) -> None:
        """Every batch, `concurrency` calls in flight. Answers are keyed by lead, so the
        result does not depend on the order in which calls finish. A daily cap, an outage or
        any other error (the warehouse lost, so answers could no longer be recorded) stops
        the calls not yet started; the ones in flight finish."""
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="groq-call") as pool:
            futures = [
                pool.submit(self._judge, batch, keys, answers, fallbacks, stats, True)
                for batch in batches
            ]
            try:
                for future in as_completed(futures):
                    future.result()
            except BaseException:
                for future in futures:
                    future.cancel()
                raise

    def _judge(
        self,
        batch: list[LeadForModel],
        keys: dict[str, str],
        answers: dict[str, CachedScore],
        fallbacks: dict[str, str],
        stats: ModelStats,
        retry_missing: bool,
    ) -> None:
        """Answers for one batch: split on 413, asked again once for ids that did not come
        back, the rules for what is still missing. Nothing is sent once calls were stopped."""
        if self._stopped is not None:
            raise self._stopped
        message, ids = batch_message(batch)
        record = CallRecord(
            model=self.chat.model,
            leads=len(batch),
            companies=",".join(sorted({lead.company_key for lead in batch})),
        )
        try:
            completion = self.chat.complete(
                [
                    {"role": "system", "content": self._system_prompt},
                    {"role": "user", "content": message},
                ],
                batch_completion_budget(len(batch)),
                record,
            )
        except RequestTooLarge:
            if len(batch) == 1:
                self._record(
                    record,
                    [],
                    stats,
                    answers,
                    fallbacks,
                    {batch[0].lead_id: "request too large for the token limit"},
                )
                return
            self._record(record, [], stats, answers, fallbacks)
            half = len(batch) // 2
            self.log(f"413 for {len(batch)} leads: splitting the batch")
            self._plan_more(1)
            for part in (batch[:half], batch[half:]):
                self._judge(part, keys, answers, fallbacks, stats, retry_missing)
            return
        except CallFailed as failure:
            reason = f"model call failed: {failure}"[:200]
            given_up = {lead.lead_id: reason for lead in batch}
            self._record(record, [], stats, answers, self._failed_calls, given_up)
            with self._lock:
                self._failed_in_a_row += 1
                self._last_failure = str(failure)
                if self._failed_in_a_row >= self.unavailable_after_failed_calls:
                    self._stopped = ModelUnavailable(self._failed_in_a_row, str(failure))
            if self._stopped is not None:
                raise self._stopped from None
            self.log(f"call failed for {len(batch)} leads, the rules judge them: {failure}")
            return
        except CallsStopped as stop:
            self._record(record, [], stats, answers, fallbacks)
            self._stopped = stop
            raise
        with self._lock:
            self._failed_in_a_row = 0
            self._answered_calls += 1
        checked = check_answer(completion.content, set(ids))
        leads_by_id = {lead.lead_id: lead for lead in batch}
        paid = [
            self._cached_score(leads_by_id[ids[number]], keys, score)
            for number, score in checked.scores.items()
        ]
        missing = [leads_by_id[ids[number]] for number in sorted(checked.missing)]
        given_up = (
            {}
            if retry_missing
            else dict.fromkeys(
                (lead.lead_id for lead in missing), "model gave no valid answer twice"
            )
        )
        self._record(record, paid, stats, answers, fallbacks, given_up)
        if checked.problems:
            summary = "; ".join(checked.problems[:5])
            with self._lock:
                stats.problems.append(summary)
            self.log(f"answer problems ({len(checked.missing)} ids to redo): {summary}")
        if missing and retry_missing:
            self._plan_more(1)
            self._judge(missing, keys, answers, fallbacks, stats, retry_missing=False)

    def _plan_more(self, calls: int) -> None:
        """A split or a second ask: calls beyond the plan, for the progress line."""
        with self._lock:
            if self._progress is not None:
                self._progress.planned_calls += calls

    def _cached_score(
        self, lead: LeadForModel, keys: dict[str, str], score: ModelScore
    ) -> CachedScore:
        return CachedScore(
            cache_key=keys[lead.lead_id],
            lead_id=lead.lead_id,
            company_key=lead.company_key,
            relevance_score=score.score,
            reasoning=score.reason,
            model=self.chat.model,
        )

    def _record(
        self,
        record: CallRecord,
        paid: list[CachedScore],
        stats: ModelStats,
        answers: dict[str, CachedScore],
        fallbacks: dict[str, str],
        given_up: dict[str, str] | None = None,
    ) -> None:
        """A finished call: logged with what it paid for (one transaction), its answers and
        the leads given up on counted, and a progress line."""
        with self._lock:
            self.store.record_call(
                self.run_id, record, paid, PROMPT_VERSION, self.persona.fingerprint
            )
            stats.add_call(record)
            answers.update({score.lead_id: score for score in paid})
            fallbacks.update(given_up or {})
            if self._progress is not None:
                total = record.usage.prompt_tokens + record.usage.completion_tokens
                line = self._progress.add(
                    total,
                    record.usd,
                    record.retries,
                    record.waited_s,
                    len(paid) + len(given_up or {}),
                )
                self.log(line)
                PROGRESS_EVENTS.info(line, extra={"snapshot": self._progress.snapshot()})

    def _frame(
        self, rules: pd.DataFrame, answers: dict[str, CachedScore], fallbacks: dict[str, str]
    ) -> pd.DataFrame:
        frame = rules.copy()
        lead_ids = frame["lead_id"]
        by_model = lead_ids.isin(answers.keys())
        if by_model.any():
            scores = lead_ids[by_model].map(lambda lead_id: answers[lead_id].relevance_score)
            frame.loc[by_model, "relevance_score"] = scores.astype("int64")
            frame.loc[by_model, "is_relevant"] = scores >= self.persona.relevance_threshold
            frame.loc[by_model, RUNG_FIT] = scores.map(lambda s: fit_of_score(int(s), self.persona))
            frame.loc[by_model, "reasoning"] = lead_ids[by_model].map(
                lambda i: answers[i].reasoning
            )
            frame.loc[by_model, "evaluator"] = EVALUATOR_MODEL
            frame.loc[by_model, "decision_basis"] = BASIS_MODEL
            frame.loc[by_model, "model"] = self.chat.model
        fell_back = lead_ids.isin(fallbacks.keys())
        frame.loc[fell_back, "evaluator"] = EVALUATOR_FALLBACK
        frame.loc[fell_back, "fallback_reason"] = lead_ids[fell_back].map(fallbacks)
        return frame
