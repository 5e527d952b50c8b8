package demo

// The demo data: a mid-sized company with five sites, the usual
// ServiceNow demo people, and tickets worded the way service desks word
// them. Templates use {site}, {Site}, {ci} and {person}.

type person struct{ user, first, last string }

var people = []person{
	{"beth.anglin", "Beth", "Anglin"}, {"david.loo", "David", "Loo"}, {"fred.luddy", "Fred", "Luddy"},
	{"abel.tuter", "Abel", "Tuter"}, {"bud.richman", "Bud", "Richman"}, {"charlie.whitherspoon", "Charlie", "Whitherspoon"},
	{"don.goodliffe", "Don", "Goodliffe"}, {"luke.wilson", "Luke", "Wilson"}, {"rick.berzle", "Rick", "Berzle"},
	{"sam.sorokin", "Sam", "Sorokin"}, {"bow.ruggeri", "Bow", "Ruggeri"}, {"christen.mitchell", "Christen", "Mitchell"},
	{"jerrod.bennett", "Jerrod", "Bennett"}, {"itil", "ITIL", "User"},
}

var groupNames = []string{
	"Service Desk", "Network", "Database", "Hardware", "Software", "Linux Admins", "Windows Admins",
	"Application Development", "Change Management",
}

type site struct{ code, name, city, country string }

var sites = []site{
	{"lon", "London", "London", "United Kingdom"}, {"nyc", "New York", "New York", "USA"},
	{"fra", "Frankfurt", "Frankfurt am Main", "Germany"}, {"sin", "Singapore", "Singapore", "Singapore"},
	{"san", "San Diego", "San Diego", "USA"},
}

type vendor struct{ name, model string }

// ciClass is one CMDB class of the demo: its share of the CIs, a name
// pattern, the roles its CIs play and the vendors they come from.
type ciClass struct {
	class   string
	kind    string // linux, windows, mysql, oracle, app, switch, router, service
	share   float64
	prefix  string
	roles   []string
	vendors []vendor
}

var ciClasses = []ciClass{
	{"cmdb_ci_linux_server", "linux", 0.40, "lnx", []string{"web", "app", "db", "k8s", "mq", "batch"},
		[]vendor{{"Dell Inc.", "PowerEdge R750"}, {"Hewlett Packard Enterprise", "ProLiant DL380 Gen10"}}},
	{"cmdb_ci_win_server", "windows", 0.16, "win", []string{"ad", "sql", "iis", "file", "rds"},
		[]vendor{{"Dell Inc.", "PowerEdge R650"}, {"Hewlett Packard Enterprise", "ProLiant DL360 Gen10"}}},
	{"cmdb_ci_db_mysql_instance", "mysql", 0.08, "mysql", []string{"orders", "catalog", "auth", "wiki"}, nil},
	{"cmdb_ci_db_ora_instance", "oracle", 0.05, "ora", []string{"erp", "hr", "dwh"}, nil},
	{"cmdb_ci_app_server", "app", 0.13, "tomcat", []string{"portal", "orders", "payments", "crm", "search"}, nil},
	{"cmdb_ci_ip_switch", "switch", 0.08, "sw", []string{"core", "access", "dc"},
		[]vendor{{"Cisco Systems", "Catalyst 9300"}, {"Arista Networks", "7050X3"}}},
	{"cmdb_ci_ip_router", "router", 0.04, "rtr", []string{"edge", "wan", "vpn"},
		[]vendor{{"Cisco Systems", "ASR 1001-X"}, {"Juniper Networks", "MX204"}}},
	{"cmdb_ci_service", "service", 0.04, "", nil, nil},
}

var businessServices = []string{
	"Email", "Customer Portal", "Online Payments", "SAP ERP", "Payroll", "VPN Access", "Intranet", "CRM",
	"Data Warehouse", "Order Management", "Mobile App Backend", "Identity and Access",
}

type incidentTemplate struct {
	short, desc, category, subcategory, group, ciKind string
}

var incidentTemplates = []incidentTemplate{
	{"Outlook cannot connect to Exchange", "Several users in the {Site} office see 'Trying to connect...' in Outlook since 08:30. Webmail still works.", "software", "email", "Service Desk", "service"},
	{"VPN disconnects every few minutes", "Remote users on the {Site} VPN are dropped every 5-10 minutes since this morning.\nReconnecting works at once.", "network", "vpn", "Network", "router"},
	{"Disk space low on {ci}", "Monitoring alert: /var is 93% full on {ci}. Log rotation may have stopped.", "hardware", "disk", "Linux Admins", "linux"},
	{"High CPU on {ci}", "CPU above 95% for 30 minutes on {ci}; the application answers slowly.", "hardware", "cpu", "Linux Admins", "linux"},
	{"Memory leak suspected on {ci}", "The JVM on {ci} grows about 200 MB an hour until the watchdog restarts it.", "software", "internal application", "Application Development", "app"},
	{"Connection pool exhausted on {ci}", "The application logs 'Timeout waiting for idle object' when it talks to {ci}.", "database", "sql server", "Database", "mysql"},
	{"Slow report queries on {ci}", "Month-end reports against {ci} take over two minutes since the last index rebuild.", "database", "oracle", "Database", "oracle"},
	{"Windows update failed on {ci}", "The monthly cumulative update fails on {ci} with error 0x80070643.", "software", "os", "Windows Admins", "windows"},
	{"User locked out after password change", "A user in {Site} is locked out right after changing the password; check replication on {ci}.", "inquiry", "", "Service Desk", "windows"},
	{"Printer on floor 3 jams", "The {Site} floor 3 printer jams on every duplex job.", "hardware", "", "Hardware", ""},
	{"Wi-Fi drops in meeting rooms", "Laptops in the {Site} meeting rooms lose Wi-Fi when more than ten people join a call.", "network", "wireless", "Network", "switch"},
	{"Port flapping on {ci}", "Interface Gi1/0/24 on {ci} goes up and down every few seconds.", "network", "", "Network", "switch"},
	{"Internal DNS names do not resolve", "nslookup for *.acme.internal times out from the {Site} office; public names work.", "network", "dns", "Network", "windows"},
	{"SAP logon page times out", "Users get a gateway timeout on the SAP logon page; the fat client still works.", "software", "internal application", "Application Development", "service"},
	{"Nightly export failed on {ci}", "The nightly payroll export on {ci} ended with exit code 3.", "software", "internal application", "Application Development", "app"},
	{"TLS certificate expires soon on {ci}", "The certificate of {ci} expires in 7 days. Renewal was not triggered.", "software", "", "Linux Admins", "linux"},
	{"Backup missed on {ci}", "Last night's backup of {ci} did not run; the agent reports 'not registered'.", "hardware", "", "Linux Admins", "linux"},
	{"Replication lag on {ci}", "The replica of {ci} is 900 seconds behind the primary.", "database", "", "Database", "mysql"},
	{"Laptop does not boot after BIOS update", "A Latitude laptop in {Site} shows a black screen after Monday's BIOS update.", "hardware", "", "Hardware", ""},
	{"Customer portal answers HTTP 502", "About 5% of requests to the customer portal get a 502 from the load balancer.", "software", "internal application", "Application Development", "service"},
	{"Audio drops in Teams calls", "Calls from the {Site} office lose audio for a few seconds every minute.", "software", "", "Service Desk", ""},
	{"File share not reachable on {ci}", "The projects share on {ci} cannot be reached from {Site}; other shares work.", "network", "", "Windows Admins", "windows"},
	{"New starter cannot open the CRM", "A new starter in {Site} gets 'access denied' in the CRM although the role was requested.", "inquiry", "", "Service Desk", "service"},
	{"Kernel panic on {ci}", "{ci} rebooted after a kernel panic in the network driver.", "hardware", "", "Linux Admins", "linux"},
}

var closeCodes = []string{"Solution provided", "Workaround provided", "Resolved by change", "User error", "Known error"}

type problemTemplate struct {
	short, desc, cause, workaround, group, ciKind string
	knownError                                    bool
}

var problemTemplates = []problemTemplate{
	{"Recurring VPN disconnects at {Site}", "Users at {Site} are dropped from the VPN several times a day.", "DPD timeout on the concentrator is shorter than the client keepalive.", "Reconnect; use the backup gateway.", "Network", "router", true},
	{"Exchange connectivity lost after patching", "After each patch night Outlook cannot connect for about an hour.", "", "Restart the transport service on the mailbox servers.", "Software", "service", false},
	{"Memory leak in {ci}", "The order service on {ci} leaks memory under load.", "Unbounded cache of customer sessions.", "Nightly restart of the application server.", "Application Development", "app", true},
	{"Slow reports after index maintenance on {ci}", "Reports slow down for days after the weekly index rebuild.", "Statistics are not gathered after the rebuild.", "Gather statistics manually.", "Database", "oracle", true},
	{"Switch firmware bug causes port flapping", "Access switches in several sites flap ports at random.", "Known bug in firmware 17.6.3.", "Disable EEE on the affected ports.", "Network", "switch", true},
	{"Backup agent deregisters after OS upgrade", "Servers upgraded to the new OS release drop out of the backup schedule.", "", "Re-register the agent after the upgrade.", "Linux Admins", "linux", false},
	{"Certificate renewals are not automated", "Certificates expire unnoticed on internal servers.", "", "", "Linux Admins", "linux", false},
	{"Meeting room Wi-Fi capacity", "Wi-Fi in meeting rooms saturates with large meetings.", "Too few access points per room.", "Use the wired dock.", "Network", "switch", false},
}

type changeTemplate struct {
	short, desc, plan, backout, group, ciKind, typ string
}

var changeTemplates = []changeTemplate{
	{"Patch {ci} to the latest kernel", "Monthly kernel patching of {ci}.", "1. Drain the node\n2. Install the kernel\n3. Reboot\n4. Check services", "Boot the previous kernel from the boot menu.", "Linux Admins", "linux", "standard"},
	{"Upgrade firmware on {ci}", "Move {ci} to the recommended firmware release.", "Upload the image, set the boot variable, reload in the window.", "Set the boot variable back and reload.", "Network", "switch", "normal"},
	{"Rotate the TLS certificate on {ci}", "The certificate of {ci} expires this month.", "Install the new certificate and reload the web server.", "Restore the old certificate from the backup.", "Linux Admins", "linux", "standard"},
	{"Add 200 GB to /var on {ci}", "Extend the volume group and /var on {ci}.", "Add the LUN, pvcreate, vgextend, lvextend -r.", "None needed: the change only adds space.", "Linux Admins", "linux", "normal"},
	{"Apply the quarterly patch set on {ci}", "Quarterly database patch for {ci}.", "Apply with opatch in the maintenance window, then run datapatch.", "Roll back with opatch rollback.", "Database", "oracle", "normal"},
	{"Block a malicious IP range at {ci}", "Security asked to block a scanning range at once.", "Add the ACL entry on {ci}.", "Remove the ACL entry.", "Network", "router", "emergency"},
	{"Restart the application pool on {ci}", "Scheduled restart to release memory.", "Recycle the pool during the night.", "Not applicable.", "Windows Admins", "windows", "standard"},
	{"Deploy order service 4.2 to {ci}", "Release 4.2 of the order service.", "Blue/green deployment through the pipeline.", "Switch the load balancer back to blue.", "Application Development", "app", "normal"},
}

type requestTemplate struct{ short, desc string }

var requestTemplates = []requestTemplate{
	{"New laptop for {person}", "Standard developer laptop with docking station."},
	{"CRM access for {person}", "Read and write access to accounts in the CRM."},
	{"Second monitor for {person}", "27-inch monitor for the desk in {Site}."},
	{"VPN token for {person}", "Hardware token for remote access."},
	{"Visio licence for {person}", "Needed for network diagrams."},
	{"Mobile phone for {person}", "Company phone with the standard apps."},
}

// stackFlowIncidents are tickets opened in StackFlow, not in ServiceNow:
// the first sync creates them in ServiceNow.
var stackFlowIncidents = []struct {
	title, desc, category, subcategory, group string
	impact, urgency                           int
}{
	{"Badge reader at the Frankfurt entrance rejects cards", "Since 07:00 the reader at the main entrance rejects every badge.", "hardware", "", "Hardware", 2, 1},
	{"Shared calendars not syncing to phones", "Changes to shared calendars reach phones only after several hours.", "software", "email", "Software", 3, 2},
	{"Meeting room display shows no signal", "The display in room London 4.12 shows 'no signal' with every laptop.", "hardware", "", "Hardware", 3, 3},
	{"Expense tool rejects receipts over 5 MB", "Uploads over 5 MB fail with 'request entity too large'.", "software", "internal application", "Application Development", 2, 2},
	{"Guest Wi-Fi portal does not load", "The captive portal of the guest Wi-Fi times out in New York.", "network", "wireless", "Network", 2, 2},
	{"Password reset e-mails arrive late", "Password reset e-mails take up to 30 minutes to arrive.", "software", "email", "Service Desk", 2, 3},
}

var stackFlowProblems = []struct{ title, desc, group string }{
	{"Phone calendar sync fails after the mobile OS update", "Calendar sync on phones broke with the latest OS update.", "Software"},
	{"Large receipts are rejected by the expense tool", "The upload limit of the expense tool is below the size of scanned receipts.", "Application Development"},
}

var stackFlowChanges = []struct{ title, desc, group, plan, backout string }{
	{"Replace the badge readers in the Frankfurt lobby", "Replace both readers with the new model.", "Hardware", "Swap the readers after hours and test with three badges.", "Reinstall the old readers."},
	{"Enable WPA3 on the guest Wi-Fi", "Move the guest SSID to WPA3 transition mode.", "Network", "Change the SSID profile on the controller.", "Set the profile back to WPA2."},
}
