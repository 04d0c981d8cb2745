# Letters: the emails, texts and push notifications Help On Demand sends (see
# crates/i18n/src/letter.rs). Each is `letter-<name>-subject`, `-body` (paragraphs separated by
# blank lines), `-action` (the label of its link), `-short` (a text message) and `-push` (a push
# notification), as the letter needs. No consumer contact details in anything sent to an agent
# before acceptance.

letter-footer = Help On Demand connects consumers with licensed agents and brokers registered with the Health Insurance Marketplace. This is an automatic message; replies are not read.

## Agents

letter-invitation-subject = Your Help On Demand invitation
letter-invitation-body =
    Hello { $name },

    You are eligible to take part in Help On Demand for plan year { $plan_year }. Create your profile with the secure link below.

    The link works once and expires in 48 hours, on { $expires }. If it has expired, ask the Help On Demand help desk for a new one. Your name and email come from your MLMS profile.
letter-invitation-action = Create your profile

letter-registered-subject = Your Help On Demand account is ready
letter-registered-body =
    Hello { $name },

    Your Help On Demand account is ready. Your username is { $username }.

    When you first log in you will be asked to accept the Terms of Use, and then to review your languages and the states where you want referrals.
letter-registered-action = Log in

letter-phone-code-short = Help On Demand: this is your test text message. Your code is { $code }; enter it after you log in to confirm this phone.

letter-offer-subject = You have a New Referral
letter-offer-body =
    Hello { $first_name },

    You have a new Help On Demand referral: a consumer in { $place } who speaks { $language } needs help with { $reason ->
        [new_coverage] new coverage
        [change] a change to their plan
        [special_enrollment] a Special Enrollment Period
       *[other] Marketplace coverage
    }.

    Accept or decline it before { $until }. If you do not answer by then, it goes to another agent.
letter-offer-action = Answer the offer
letter-offer-short = Help On Demand: new referral in { $place } ({ $language }). Accept or decline by { $until }: { $link }
letter-offer-push = A consumer in { $place } who speaks { $language } needs help. Answer by { $until }.

letter-offer-reminder-subject = Reminder: your referral offer ends at { $until }
letter-offer-reminder-body =
    Hello { $first_name },

    Half the time to answer the referral offer in { $place } has passed. Accept or decline it before { $until }, or it goes to another agent.
letter-offer-reminder-action = Answer the offer
letter-offer-reminder-short = Help On Demand: the referral in { $place } is still waiting for your answer. Accept or decline by { $until }: { $link }
letter-offer-reminder-push = The referral in { $place } is still waiting. Answer by { $until }.

letter-offer-expired-subject = A referral offer expired
letter-offer-expired-body =
    Hello { $first_name },

    The referral offer in { $place } expired at { $expired } without an answer, so it went to another agent.

    After 3 missed offers in a row, Help On Demand switches you to unavailable. If you cannot take referrals now, switch to unavailable yourself.
letter-offer-expired-action = Availability settings

letter-paused-subject = You were switched to unavailable
letter-paused-body =
    Hello { $first_name },

    You missed { $streak } referral offers in a row, so Help On Demand switched you to unavailable (red). You will not get offers until you switch back to available or to your schedule.
letter-paused-action = Availability settings

letter-follow-up-subject = Reminder: follow up on your referral
letter-follow-up-body =
    Hello { $first_name },

    You accepted Help On Demand referral #{ $referral } an hour ago. Contact the consumer now, then record Follow-Up Completed.
letter-follow-up-action = Open the referral

letter-locked-subject = Your Help On Demand account is locked
letter-locked-body =
    Hello { $first_name },

    After { $attempts } failed log-ins, your Help On Demand account is locked for { $minutes } minutes.

    If this was not you, reset your password now: a reset link works during the lock.
letter-locked-action = Reset your password

letter-reset-subject = Reset your Help On Demand password
letter-reset-body =
    Hello { $first_name },

    To choose a new Help On Demand password, open the link below within { $minutes } minutes. It works once.

    If you did not ask for this, ignore this email: your password stays as it is.
letter-reset-action = Choose a new password

letter-password-changed-subject = Your Help On Demand password was changed
letter-password-changed-body =
    Hello { $first_name },

    Your Help On Demand password was changed, and you were logged out everywhere.

    If you did not do this, contact the help desk at once.

letter-username-subject = Your Help On Demand username
letter-username-body =
    Hello { $first_name },

    Your Help On Demand username is { $username }.
letter-username-action = Log in

## Consumers

letter-confirmation-subject = We received your request for help
letter-confirmation-body =
    Hello { $first_name },

    We received your request and are finding a licensed agent near you. You can follow it on its page.
letter-confirmation-action = Follow your request
letter-confirmation-short = Help On Demand: we received your request and are finding a licensed agent near you. Follow it here: { $link }

letter-link-again-subject = The link to your request for help
letter-link-again-body =
    Hello { $first_name },

    You already asked for help a few minutes ago. Follow that request on its page.
letter-link-again-action = Follow your request
letter-link-again-short = Help On Demand: you already asked for help a few minutes ago. Follow that request here: { $link }

letter-accepted-subject = A licensed agent will contact you
letter-accepted-body =
    Hello { $first_name },

    { $agent }, a licensed agent, accepted your request and will contact you within 60 minutes.
letter-accepted-action = See your request
letter-accepted-short = Help On Demand: { $agent }, a licensed agent, accepted your request and will contact you within 60 minutes. { $link }

letter-no-agent-subject = We could not find an agent right now
letter-no-agent-body =
    Hello { $first_name },

    We could not find an available agent right now. Please call the Marketplace Call Center at { $phone }, 24 hours a day, 7 days a week.
letter-no-agent-action = See your request
letter-no-agent-short = Help On Demand: we could not find an available agent right now. Please call the Marketplace Call Center at { $phone } (24/7). { $link }

## A text that could not be sent, by email instead

letter-text-undeliverable-subject = Urgent: we could not text you
letter-text-undeliverable-body =
    Hello,

    We could not deliver a text message to { $phone }. Here is what it said:

    { $text }

    If this number is wrong or cannot receive texts, please give us one that can.

letter-text-stopped-subject = Our text message, by email
letter-text-stopped-body =
    Hello,

    You asked us to stop texting { $phone }, so here is our message by email:

    { $text }

    To get texts again, reply START to any of our messages.

letter-operator-invite-subject = Your Help On Demand console account
letter-operator-invite-body =
    Hello,

    An administrator made you a Help On Demand console account with the username { $username }.

    Open the link below within { $hours } hours to choose your password. It works once.

    If you did not expect this, ignore this email.
letter-operator-invite-action = Choose your password

letter-assigned-subject = A referral was assigned to you
letter-assigned-body =
    Hello { $first_name },

    The Help On Demand help desk assigned you a referral in { $place }. Contact the consumer within { $minutes } minutes, then record Follow-Up Completed.
letter-assigned-action = Open the referral

letter-operator-password-subject = Choose a new Help On Demand console password
letter-operator-password-body =
    Hello,

    An administrator sent you this link to choose a new password for your Help On Demand console account { $username }.

    Open it within { $hours } hours. It works once, and ends every session opened with your old password.

    If you did not ask for this, tell an administrator.
letter-operator-password-action = Choose a new password
