"""Who does what in the workbench (SPEC §0, EXE-5, REV-1/2). Scope is core.scope's job."""

from huifang.accounts.choices import Role

# Work callbacks: agents (compliance) and, for service callbacks, the branch's service staff
# (their users hold the agent role too; the position decides CON-2 in the services).
WORKERS = (Role.AGENT,)
# Supervisors reassign tasks and release stuck claims (recusal still enforced).
SUPERVISORS = (Role.BRANCH_OPS, Role.HQ_SERVICE)
# EXE-5 leader signatures: compliance → 营运总监; service → 营销总监, then archived by 营运总监;
# company-level callbacks → the head-office call center's leader.
LEADER_FOR_COMPLIANCE = Role.BRANCH_OPS
LEADER_FOR_SERVICE = Role.BRANCH_MARKETING
ARCHIVER = Role.BRANCH_OPS
LEADER_FOR_COMPANY = Role.HQ_SERVICE
# REV-1: reviewers; REV-2: the head office's call center spot-checks branches.
REVIEWERS = (Role.REVIEWER, Role.HQ_SERVICE)
# Branch data corrections after a wrong number (EXE-3).
CORRECTORS = (Role.BRANCH_OPS, Role.BRANCH_MANAGER)
