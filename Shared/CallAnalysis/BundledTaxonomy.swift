// The taxonomy shipped as deploy/config/intents.yaml, for callers given no file. Kept
// identical to that file by a test (TaxonomyTests): edit the YAML file, then copy it here,
// every non-empty line indented by eight spaces.
extension IntentTaxonomy {
    static let bundledYAML = #"""
        # What people in a meeting may want from the agent: the intent taxonomy of post-call
        # monitoring (monitoring-worker, `ATTACHE_INTENTS_FILE`; this file is the default and is also
        # built into the CallAnalysis library as `IntentTaxonomy.bundledDefault`).
        #
        # Two analysers read it:
        #   * the embedded analyser matches `phrases` and `keywords` against what each participant
        #     said, and checks the agent's reply the way `fulfilment` says;
        #   * the LLM judge is given each intent's `rubric` (and the subjects' names) and must answer
        #     with these names only.
        #
        # Per intent:
        #   name            unique, snake_case; stored with every verdict
        #   rubric          what the intent is and what a fulfilling reply looks like (for the judge)
        #   fulfilment      how the embedded analyser checks the agent's reply:
        #                     answer      the reply must carry the facts the agent was given
        #                                 (context lines whose label is in `context_labels`)
        #                     commitment  the agent must take the request on ("noted", "I will …")
        #                     recap       the reply must recap what was said in the call
        #                     none        nothing to fulfil (smalltalk, none): never counts
        #   phrases         enough on their own (confidence 0.8, more with every further match)
        #   keywords        count only in a question or a request (0.3 alone; 0.6 with a question);
        #                   for `commitment` and `recap` intents, a keyword where a request puts its
        #                   verb ("can you send", "please log", "Assign the checks to …") is a phrase
        #
        # `answer` intents are questions: without a question or request cue (see `question_cues`)
        # their confidence is roughly halved, so "the budget looks fine" asks nothing.
        #   subjects        what an `answer` intent can be about, each with its own name, phrases,
        #                   keywords and context_labels; the best-matching subject is the intent's
        #   context_labels  the `Label:` of the context lines that answer it ("Budget" also matches
        #                   "Budget Q3"; any case)
        #
        # Pattern syntax (phrases and keywords alike): words separated by spaces, matched as whole
        # words in any case, after contractions are spelt out (write "what is": it matches "what's"
        # and "whats") and hyphens split words ("follow up" matches "follow-up"). In a word slot,
        # `budget*` matches any word starting with "budget", `a|b` either word (one word each side),
        # `(this meeting|the call)` either group of words, a lone `*` any one word, and `...` up to
        # three words (or none). A pattern starts with a word and does not end with `...`.
        #
        # `none` must exist: it is what a call is about when nobody wanted anything of the agent.
        # Any other key is rejected, so that a typo cannot silently switch a pattern off.

        version: 1

        intents:
          - name: ask_agenda
            rubric: >-
              Someone asks what the meeting covers, in what order, or what comes next. A fulfilling
              reply gives the agenda items the agent was given (the Agenda context line).
            fulfilment: answer
            context_labels: [Agenda]
            phrases:
              - what is on the agenda
              - what is the agenda
              - agenda for today|this|the|our
              - what are we (covering|discussing|reviewing|going over|talking about|doing)
              - what are we here to
              - what do we (need to|have to) (get through|cover|discuss|go through)
              - what is next on
              - what is first on
              - what comes next|first
              - what is left on
              - what else is on
              - anything else on the agenda
              - what topics
              - what are the topics|items
              - run|walk|go through the agenda
              - remind me|us of the agenda
              - remind me|us what we are covering
              - what is the plan for (today|this meeting|this call|the meeting|the call)
              - order of the agenda|items|topics
            keywords: [agenda, topics, covering, get through, remaining items, next item, next topic]

          - name: ask_fact
            rubric: >-
              Someone asks for a fact the agent may hold in its context or prep notes: a budget
              figure, an incident, staffing or hiring, a decision, a participant, the meeting's own
              details (time, place, title), the quarter's priorities. A fulfilling reply states the
              fact as the context has it; saying "I don't know" while the context holds the answer, or
              a figure that contradicts it, fails.
            fulfilment: answer
            phrases:
              - what do your|the notes say
              - do you have the numbers|figures|details|latest|status
              - what do we know about
              - any update|updates on
              - what is the status of|on
              - what is the latest on|with
              - where are we on|with
              - tell me|us about
              - fill me|us in on
              - bring me|us up to speed on
              - give me|us the numbers|figures|details
              - remind me|us what|how|who|when
              - remind me|us of
              - do you know
              - how many
              - how is|are ... going|tracking|looking|progressing
              - what is|was the total
            subjects:
              - name: budget
                context_labels: [Budget, Spend, Costs, Finance, Forecast, Expenses]
                phrases:
                  - how much did|do|have|are we spend*
                  - how much is left|remaining
                  - how much (money|budget|did it cost|does it cost)
                  - what is the budget
                  - what is our budget
                  - budget look*
                  - how is|are the budget|spend|spending|costs
                  - are we over|under|on budget|plan
                  - what did we spend
                keywords:
                  - budget*
                  - spend*
                  - spent
                  - cost
                  - costs
                  - money
                  - dollars
                  - forecast*
                  - overrun*
                  - overspend*
                  - underspend*
                  - finance
                  - financials
                  - expense*
                  - burn
                  - variance
                  - capex
                  - opex
                  - over plan
                  - under plan
                  - on plan
                  - compute costs
                  - how much
                  - worth
                  - value
                  - price*
                  - revenue
              - name: incidents
                context_labels: [Incidents, Incident, Outages, Reliability]
                phrases:
                  - any incidents
                  - what happened with|during|in the outage|incident
                  - how long was the outage|incident
                  - root cause
                  - how many incidents|outages|pages
                keywords:
                  - incident*
                  - outage*
                  - sev
                  - sev0
                  - sev1
                  - sev2
                  - sev3
                  - postmortem*
                  - post mortem
                  - downtime
                  - down
                  - severity
                  - impact
                  - paged
                  - pages
                  - on call
                  - breach
              - name: staffing
                context_labels: [Staffing, Hiring, Headcount, Team changes, Recruiting]
                phrases:
                  - how many roles|people|engineers|hires|openings|positions
                  - hiring plan
                  - open roles|positions|reqs
                  - new hires|starters|joiners
                  - who is joining the team
                  - who starts
                  - when do|does * start|join
                  - when do|does ... (hires|hire|engineers|engineer|people|starters|joiners|candidates) start|join
                  - how is hiring|recruiting
                keywords:
                  - hiring
                  - hire
                  - hires
                  - hired
                  - headcount
                  - staff
                  - staffing
                  - recruit*
                  - roles
                  - candidates
                  - finalists
                  - vacanc*
                  - positions
                  - onboard*
                  - parental leave
                  - on leave
                  - backfill*
                  - attrition
                  - starters
                  - joiners
              - name: decisions
                context_labels: [Decisions, Decisions needed, Decision, Approvals]
                phrases:
                  - what did we decide|agree|conclude
                  - what was decided|agreed
                  - what have we decided|agreed
                  - did we agree|decide
                  - what is the decision
                  - what decisions
                  - which option did we
                  - has anyone (approved|signed off)
                  - was it|that|the * approved
                  - do we need to decide
                  - what do we need to decide
                keywords:
                  - decid*
                  - decision*
                  - agree*
                  - approv*
                  - options
                  - choos*
                  - choice*
                  - pick*
                  - sign off
                  - signed off
                  - outcome
                  - conclusion
                  - go ahead
              - name: participant
                context_labels: [Participants, Attendees, Guests]
                phrases:
                  - who is on|in the|this *
                  - who is (here|joining|attending|coming|dialed in|dialling in)
                  - who else is
                  - who are we meeting
                  - who are the participants|attendees
                  - who was invited
                  - is * joining|coming|attending
                  - what does * do
                  - what is * role
                keywords: [participants, attendees, attending, invited, role, joining]
              - name: meeting_details
                context_labels: [Meeting, Time, Location, Place, Description, Duration, Room]
                phrases:
                  - what time
                  - when does|do|did this|the|our meeting|call|session start|end|finish|begin
                  - when are we done|finishing
                  - how long is this|the meeting|call|session
                  - how much time do we have
                  - where is the meeting|call
                  - where are we meeting
                  - which room
                  - what is this meeting|call about|for
                  - what is the meeting|call about|called|for
                  - what is the title
                  - what meeting is this
                  - what is the purpose of this|the meeting|call
                  - is this meeting|call recorded
                keywords: [room, location, venue, title, purpose, duration, time zone]
              - name: priorities
                context_labels: [Big rocks, Priorities, Goals, OKRs, Objectives, Roadmap]
                phrases:
                  - big rocks
                  - top priorities
                  - what are our|the priorities
                  - how is the launch|migration|project going
                  - status of the launch|migration|project
                keywords: [priorit*, okr*, goals, roadmap, launch*, milestone*, migration, rocks, objectives, ship*, release*]

          - name: request_action_item
            rubric: >-
              Someone asks the agent to record an action item or task (what, who, by when). A
              fulfilling reply confirms it was taken down, ideally repeating it.
            fulfilment: commitment
            phrases:
              - action item|items
              - add an action
              - add this|that|it as|to an|the action*
              - take an|a action|note
              - make a note
              - note that|this|it down
              - write that|this|it down
              - jot that|this|it down
              - put that|this|it down
              - add that|this|it to the list|notes|actions|tracker|minutes
              - capture that|this|it
              - log that|this|it
              - track that|this|it
              - record that|this|it
              - assign that|this|it to
              - create a task|ticket|todo
              - to do list
              - can|could you note
              - please note
              - make sure that is noted
              - mark * as the owner
            keywords: [action, actions, task, todo, note, capture, track, assign*, owner]

          - name: request_follow_up
            rubric: >-
              Someone asks the agent to do something after the call: send or share something,
              follow up with someone, remind someone, find something out. A fulfilling reply commits
              to it (and says to whom and when, where that was asked).
            fulfilment: commitment
            phrases:
              - follow up
              - send (me|us|everyone|the team|them|it|that|out|round|around|over)
              - email (me|us|everyone|the team|it|that|them)
              - after the meeting|call
              - share the notes|summary|deck|slides|recording|minutes|numbers|link
              - circulate
              - remind me|us to
              - remind me|us (tomorrow|later|next week|on)
              - ping me|us|them
              - get back to me|us
              - loop in
              - check with
              - find out
              - let me|us know later|after|once|when|by
              - reach out to
              - chase
            keywords: [send, email, share, circulate, remind, ping, afterwards, chase]

          - name: request_summary
            rubric: >-
              Someone asks the agent to summarise or recap the discussion so far, or the key points
              and next steps. A fulfilling reply recaps what was actually said in the call.
            fulfilment: recap
            phrases:
              - quick recap|summary|rundown
              - give me|us a|the * recap|summary|rundown|overview
              - sum up
              - sum it|that|this up
              - what have we covered|discussed|agreed so far
              - so far
              - key points|takeaways
              - main points
              - what did i miss
              - catch me|us up
              - where have we got to
              - recap of
              - summary of
              - what are the next steps
              - summarise|summarize|recap what|the|where|this|that|it|everything|for
            keywords: [summar*, recap*, rundown, overview, takeaways, highlights]

          - name: schedule_change
            rubric: >-
              Someone asks to move, cancel, extend, shorten or add a meeting (this one or a related
              one). The agent cannot change calendars itself: a fulfilling reply takes the request on
              (passes it to the organiser, proposes the new time) rather than ignoring it.
            fulfilment: commitment
            phrases:
              - reschedul*
              - postpon*
              - move|push|shift|bump ... (meeting|call|sync|review|session|standup|one on one|1 1|catch up)
              - move|push|shift|bump it|this|that to|back|forward
              - cancel ... (meeting|call|session|sync|review|standup|one on one|1 1|catch up)
              - can we do * instead
              - bring (it|this|the meeting) forward
              - end early
              - finish early
              - extend the|this meeting|call
              - book|schedule a follow up meeting|call|session
              - book|schedule (another|a new) (meeting|call|session)
              - next week instead
            keywords: [reschedul*, postpon*, cancel*, calendar, slot, instead, earlier, another time|day, different time|day, new time]

          - name: smalltalk
            rubric: >-
              Greetings, thanks, goodbyes, checking that sound works, social chat. Nothing to fulfil.
            fulfilment: none
            phrases:
              - hi
              - hello
              - hey
              - good morning|afternoon|evening
              - morning everyone|all
              - thanks
              - thank you
              - cheers
              - bye
              - goodbye
              - see you
              - talk soon
              - how are you
              - how is everyone|everybody
              - how are things
              - how was your weekend|holiday|trip
              - nice to meet you
              - nice to see you
              - great to see
              - welcome
              - can you hear me|us
              - can everyone hear me
              - is my audio|sound|mic
              - sorry i am late
              - have a good|great|nice day|weekend|one|evening
              - happy friday|monday
            keywords: []

          - name: none
            rubric: >-
              Nothing was asked of the agent: participants talked among themselves, made statements,
              or asked each other. Nothing to fulfil.
            fulfilment: none

        # How the agent's replies are read (by the embedded analyser), same pattern syntax.
        agent_replies:
          # The agent saying it does not know or does not have it.
          unknown:
            - i do not have
            - i do not know
            - i am not sure
            - not in my notes
            - nothing in my notes
            - no information
            - no details
            - i cannot find|see
            - i can not find|see
            - i could not find
            - i do not see
            - unable to find
            - not aware of
            - i have nothing on
            - i have no
            - not something i have
            - do not have that
            - no record of
            - there is nothing
            - nothing to recap|summarise|summarize|report|share
          # The agent taking something on.
          commitment:
            - i will
            - i have noted|added|captured|logged|recorded|written|put|made|set|sent|shared|passed
            - noted
            - got it
            - will do
            - on it
            - done
            - added
            - captured
            - logged
            - recorded
            - i am adding|noting|sending|sharing
            - consider it done
            - sure
            - absolutely
          # The agent saying it cannot do what was asked.
          declines:
            - i can not
            - i am not able to
            - i am unable to
            - not able to
            - i do not have access
            - that is not something i can
            - outside what i can
          # The agent's greeting, normally its first turn ("Hi, this is X joining from Y.").
          greeting:
            - hi
            - hello
            - good morning|afternoon|evening
            - this is
            - joining from

        # How a participant's sentence reads as a question or a request (for `keywords`): at its
        # start (after fillers such as "so", "okay", "um" and the agent's name) or, for `anywhere`,
        # at any place in it. A sentence ending in "?" is a question too.
        question_cues:
          start:
            - what|which|who|whom|whose|when|where|why|how
            - is|are|was|were|do|does|did|can|could|would|will|should|shall|has|have|may
            - any|anything
            - tell me|us
            - remind me|us
            - give me|us
            - show me|us
            - walk me|us through
            - let me|us know
            - (i need|i want|i would like|we need) a|an|the|some|more
            - (i need|i want|i would like) to (know|see|hear|understand|get)
            - help me|us
          anywhere:
            - please
            - can|could|would|will you
            - do you know
            - do you have

        """#
}
